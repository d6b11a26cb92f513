/* Is a parsed request an acceptable WebSocket upgrade (RFC 6455 4.2.1), and
 * the server's answer to one (4.2.2). */
#include "proto/ws_upgrade.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* 16 bytes encode to 22 base64 characters and "==". The 4 spare bits of the
 * last character are not required to be zero: common decoders ignore them. */
static int key_valid(rc_slice_t key)
{
    if (key.n != 24 || key.p[22] != '=' || key.p[23] != '=')
        return 0;
    for (int i = 0; i < 22; i++)
        if (!is_b64((unsigned char)key.p[i]))
            return 0;
    return 1;
}

int rc_ws_request_check(const rc_ws_request_t *req, const char **why)
{
    if (!rc_slice_eq(req->method, "GET")) {
        *why = "method must be GET";
        return 400;
    }
    /* RFC 6455 4.2.1: "HTTP/1.1 or higher". */
    if (req->http_minor < 1) {
        *why = "HTTP/1.1 required";
        return 400;
    }
    if (!req->upgrade_websocket || !req->connection_upgrade) {
        *why = "not a websocket upgrade";
        return 400;
    }
    if (req->version != 13) {
        *why = "Sec-WebSocket-Version must be 13";
        return 426; /* the caller adds "Sec-WebSocket-Version: 13" (4.4) */
    }
    if (!req->key.p) {
        *why = "missing Sec-WebSocket-Key";
        return 400;
    }
    if (!key_valid(req->key)) {
        *why = "invalid Sec-WebSocket-Key";
        return 400;
    }
    return 0;
}

void rc_ws_accept_key(rc_slice_t key, char out[29])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char tmp[128];
    size_t gl = sizeof(WS_GUID) - 1;

    if (key.n <= sizeof(tmp) - gl) {
        memcpy(tmp, key.p, key.n);
        memcpy(tmp + key.n, WS_GUID, gl);
        SHA1((const unsigned char *)tmp, key.n + gl, md);
    } else {
        /* Only reachable with a key that rc_ws_request_check would refuse;
         * still answer correctly rather than truncate. */
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || !EVP_DigestInit_ex(c, EVP_sha1(), NULL) ||
            !EVP_DigestUpdate(c, key.p, key.n) || !EVP_DigestUpdate(c, WS_GUID, gl) ||
            !EVP_DigestFinal_ex(c, md, NULL))
            abort(); /* out of memory in libcrypto */
        EVP_MD_CTX_free(c);
    }
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

int rc_ws_response_101(char *out, size_t cap, const char accept[29], int protocol_phoenix)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.28s\r\n"
                     "%s"
                     "\r\n",
                     accept, protocol_phoenix ? "Sec-WebSocket-Protocol: phoenix\r\n" : "");
    return (n < 0 || (size_t)n >= cap) ? -ENOSPC : n;
}
