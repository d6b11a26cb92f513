/* libFuzzer driver for the token path (proto/jwt.c): the input is a token,
 * checked against an HS256 key ("fuzz-secret") and an RS256 public key.
 * Whatever passes must carry the claims the verifier promises: a sub,
 * an exp not in the past, well-formed pattern lists. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/jwt.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define NOW 1800000000

static const char rsa_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArmflRiOwgXyMOacrxRGc\n"
    "VZAYWaAIVsVCyr7yu9jDc8HvHrbXqHETFmvKi7r5WUa5ZIwXAi73RpgabRZ1Umis\n"
    "srM3wWWAv2LFuRrp7vJygnERHy1G1+2OStahKAPx3Lmkzv55ICUcAjH1Bwrlo1Ic\n"
    "neS+H+/LYkJGcvj7CWzIAB25PRIXT4cnrJ96HFdwC56EWGp5qwCrCbd2VGKcplTF\n"
    "P02Plu+FzwkQISQrshe3VkiV7UNKi1DVR39rAZLXUI7U7aiBkBYrUssMuhft8i8n\n"
    "d0QlO6cITsPF9iq/Nfhm002ZZcfKXgXLAbBajMLbfYgZcKX9XXO6AnFuTsA4jLzL\n"
    "uwIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rc_jwt_keys_t ks;
    if (!ks.n) {
        rc_jwt_keys_add(&ks, RC_JWT_HS256, NULL, "fuzz-secret", 11);
        rc_jwt_keys_add(&ks, RC_JWT_RS256, "rsa", rsa_pub, sizeof(rsa_pub) - 1);
        rc_jwt_keys_remember(&ks, 64); /* as the edge does: remembered signatures too */
    }
    rc_jwt_policy_t pol = {.leeway_s = 5};
    rc_jwt_claims_t c;
    const char *why = NULL;
    if (rc_jwt_verify(&ks, &pol, (const char *)data, size, NOW, &c, &why) == 0) {
        CHECK(c.sub[0] && strlen(c.sub) <= RC_JWT_SUB_MAX);
        CHECK(c.exp + 5 >= NOW);
        CHECK(!c.ntopics || (c.topics && c.topics[c.topics_len - 1] == 0));
        CHECK(!c.npub || (c.pub && c.pub[c.pub_len - 1] == 0));
        rc_jwt_topic_allowed(c.topics, c.topics_len, (const char *)data, size > 255 ? 255 : size);
        rc_jwt_claims_free(&c);
    } else {
        CHECK(why && *why);
    }
    return 0;
}
