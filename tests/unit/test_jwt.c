/* proto/jwt.c: tokens made here with OpenSSL (HMAC, RSA, ECDSA) and
 * libsodium's base64url, not with ringcast's own code, then verified. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sodium/utils.h>

#include "proto/jwt.h"
#include "tests/unit/unit.h"

#define NOW 1800000000

static void b64(const void *in, size_t n, char *out)
{
    sodium_bin2base64(out, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), in, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static EVP_PKEY *rsa, *ec;
static char rsa_pem[4096], ec_pem[1024];

static void pem_of(EVP_PKEY *k, char *out, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    char *p;
    long n = BIO_get_mem_data(bio, &p);
    ck_assert_int_lt(n, (long)cap);
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    BIO_free(bio);
}

static void setup(void)
{
    if (!rsa) {
        rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        pem_of(rsa, rsa_pem, sizeof(rsa_pem));
        pem_of(ec, ec_pem, sizeof(ec_pem));
    }
}

/* header.payload signed: HS* with secret, RS256/ES256 with the private key
 * (ES256 in JOSE form, R || S). */
static void make(char *tok, size_t cap, const char *header, const char *payload, const char *alg, const char *secret)
{
    char h[512], p[2048], in[3000];
    b64(header, strlen(header), h);
    b64(payload, strlen(payload), p);
    snprintf(in, sizeof(in), "%s.%s", h, p);
    unsigned char sig[512];
    size_t sl = sizeof(sig);
    if (alg[0] == 'H') {
        const EVP_MD *md = !strcmp(alg, "HS256") ? EVP_sha256() : !strcmp(alg, "HS384") ? EVP_sha384() : EVP_sha512();
        unsigned int l;
        HMAC(md, secret, (int)strlen(secret), (unsigned char *)in, strlen(in), sig, &l);
        sl = l;
    } else {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        ck_assert_int_eq(EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, alg[0] == 'R' ? rsa : ec), 1);
        ck_assert_int_eq(EVP_DigestSign(c, sig, &sl, (unsigned char *)in, strlen(in)), 1);
        EVP_MD_CTX_free(c);
        if (alg[0] == 'E') {
            const unsigned char *q = sig;
            ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)sl);
            BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32);
            ECDSA_SIG_free(s);
            sl = 64;
        }
    }
    char s64[1024];
    b64(sig, sl, s64);
    snprintf(tok, cap, "%s.%s", in, s64);
}

static const char *PAYLOAD = "{\"sub\":\"42\",\"exp\":1800000600,\"iat\":1800000000,\"topics\":[\"user:42:*\",\"room:lobby\"]}";

static int verify(const rc_jwt_keys_t *ks, const rc_jwt_policy_t *pol, const char *tok, int64_t now, const char **why)
{
    rc_jwt_claims_t c;
    int r = rc_jwt_verify(ks, pol, tok, strlen(tok), now, &c, why);
    rc_jwt_claims_free(&c);
    return r;
}

START_TEST(every_algorithm_verifies_with_its_pinned_key)
{
    const char *names[] = {"HS256", "HS384", "HS512", "RS256", "ES256"};
    for (int i = 0; i < 5; i++) {
        rc_jwt_keys_t ks = {0};
        rc_jwt_alg_t a = rc_jwt_alg_by_name(names[i], 5);
        if (names[i][0] == 'H')
            ck_assert_int_eq(rc_jwt_keys_add(&ks, a, NULL, "s3cret-s3cret-s3cret-s3cret-1234", 32), 0);
        else
            ck_assert_int_eq(rc_jwt_keys_add(&ks, a, NULL, names[i][0] == 'R' ? rsa_pem : ec_pem,
                                             strlen(names[i][0] == 'R' ? rsa_pem : ec_pem)), 0);
        char hdr[64], tok[4096];
        snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", names[i]);
        make(tok, sizeof(tok), hdr, PAYLOAD, names[i], "s3cret-s3cret-s3cret-s3cret-1234");
        rc_jwt_claims_t c;
        const char *why = "";
        ck_assert_msg(rc_jwt_verify(&ks, NULL, tok, strlen(tok), NOW, &c, &why) == 0, "%s: %s", names[i], why);
        ck_assert_str_eq(c.sub, "42");
        ck_assert_int_eq(c.exp, 1800000600);
        ck_assert_uint_eq(c.ntopics, 2);
        ck_assert(rc_jwt_topic_allowed(c.topics, c.topics_len, "user:42:inbox", 13));
        rc_jwt_claims_free(&c);
        /* one bit of the signature changed */
        tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
        ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
        rc_jwt_keys_free(&ks);
    }
}
END_TEST

START_TEST(times_are_checked_here_with_the_leeway)
{
    rc_jwt_keys_t ks = {0};
    rc_jwt_keys_add(&ks, RC_JWT_HS256, NULL, "k", 1);
    char tok[4096];
    const char *why;
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", PAYLOAD, "HS256", "k");
    ck_assert_int_eq(verify(&ks, NULL, tok, 1800000600, &why), 0);
    ck_assert_int_eq(verify(&ks, NULL, tok, 1800000601, &why), -EACCES);
    ck_assert_str_eq(why, "expired");
    rc_jwt_policy_t pol = {.leeway_s = 30};
    ck_assert_int_eq(verify(&ks, &pol, tok, 1800000630, &why), 0);
    ck_assert_int_eq(verify(&ks, &pol, tok, 1800000631, &why), -EACCES);
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1800000600,\"nbf\":1800000100}", "HS256", "k");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    ck_assert_str_eq(why, "not yet valid (nbf)");
    ck_assert_int_eq(verify(&ks, NULL, tok, 1800000100, &why), 0);
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"sub\":\"a\"}", "HS256", "k");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    ck_assert_str_eq(why, "no exp claim");
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":\"1900000000\"}", "HS256", "k");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    rc_jwt_keys_free(&ks);
}
END_TEST

START_TEST(the_token_never_chooses_the_algorithm)
{
    rc_jwt_keys_t ks = {0};
    rc_jwt_keys_add(&ks, RC_JWT_RS256, NULL, rsa_pem, strlen(rsa_pem));
    char tok[4096], h[64], p[512];
    const char *why;
    /* alg none, with and without a signature */
    b64("{\"alg\":\"none\"}", 14, h);
    b64(PAYLOAD, strlen(PAYLOAD), p);
    snprintf(tok, sizeof(tok), "%s.%s.", h, p);
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    snprintf(tok, sizeof(tok), "%s.%s.c2ln", h, p);
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    /* algorithm confusion: HS256 keyed with the RSA public key's PEM bytes */
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", PAYLOAD, "HS256", rsa_pem);
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    ck_assert_str_eq(why, "no key for this alg and kid");
    /* a header alg other than the key's, even with both keys configured */
    rc_jwt_keys_add(&ks, RC_JWT_HS256, NULL, "k", 1);
    make(tok, sizeof(tok), "{\"alg\":\"RS256\"}", PAYLOAD, "HS256", "k");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    ck_assert_str_eq(why, "bad signature");
    rc_jwt_keys_free(&ks);
}
END_TEST

START_TEST(kid_selects_one_key_and_rotation_tries_each)
{
    rc_jwt_keys_t ks = {0};
    rc_jwt_keys_add(&ks, RC_JWT_HS256, "old", "old-secret", 10);
    rc_jwt_keys_add(&ks, RC_JWT_HS256, "new", "new-secret", 10);
    char tok[4096];
    const char *why;
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", PAYLOAD, "HS256", "new-secret");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), 0); /* no kid: the second key */
    make(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"new\"}", PAYLOAD, "HS256", "new-secret");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), 0);
    make(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"old\"}", PAYLOAD, "HS256", "new-secret");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES); /* kid names the other key */
    make(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"gone\"}", PAYLOAD, "HS256", "new-secret");
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), -EACCES);
    rc_jwt_keys_free(&ks);
}
END_TEST

/* Remembered signatures change no answer: every claim is still checked,
 * a changed byte or another key is a miss, and the second check of a
 * token does not call libjwt (a key removed from under it would fail). */
START_TEST(remembered_signatures_change_no_answer)
{
    rc_jwt_keys_t ks = {0};
    ck_assert_int_eq(rc_jwt_keys_remember(&ks, 3), -EINVAL);
    ck_assert_int_eq(rc_jwt_keys_remember(&ks, 4), 0);
    rc_jwt_keys_add(&ks, RC_JWT_HS256, "a", "secret-a", 8);
    rc_jwt_keys_add(&ks, RC_JWT_RS256, "r", rsa_pem, strlen(rsa_pem));
    char tok[4096], bad[4096];
    const char *why;
    make(tok, sizeof(tok), "{\"alg\":\"RS256\"}", PAYLOAD, "RS256", NULL);
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), 0);
    /* the second check is answered from memory: with the key's bytes
     * spoiled, libjwt could not verify it */
    char saved = (char)ks.k[1].bytes[40];
    ks.k[1].bytes[40] = '!';
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), 0);
    /* the claims are checked every time */
    ck_assert_int_eq(verify(&ks, NULL, tok, 1800000601, &why), -EACCES);
    ck_assert_str_eq(why, "expired");
    rc_jwt_policy_t pol = {.audience = "x"};
    ck_assert_int_eq(verify(&ks, &pol, tok, NOW, &why), -EACCES);
    /* one byte of the signature changed: not remembered, and refused */
    memcpy(bad, tok, sizeof(tok));
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(&ks, NULL, bad, NOW, &why), -EACCES);
    ks.k[1].bytes[40] = (unsigned char)saved;
    ck_assert_int_eq(verify(&ks, NULL, bad, NOW, &why), -EACCES);
    /* a kid naming another key does not use what key r verified */
    char withkid[4096];
    make(withkid, sizeof(withkid), "{\"alg\":\"HS256\",\"kid\":\"a\"}", PAYLOAD, "HS256", "secret-b");
    ck_assert_int_eq(verify(&ks, NULL, withkid, NOW, &why), -EACCES);
    /* many tokens through a table of 4: evicted ones are checked again */
    for (int i = 0; i < 32; i++) {
        char pl[128];
        snprintf(pl, sizeof(pl), "{\"sub\":\"u%d\",\"exp\":1800000600}", i);
        make(withkid, sizeof(withkid), "{\"alg\":\"HS256\",\"kid\":\"a\"}", pl, "HS256", "secret-a");
        ck_assert_int_eq(verify(&ks, NULL, withkid, NOW, &why), 0);
    }
    ck_assert_int_eq(verify(&ks, NULL, tok, NOW, &why), 0);
    rc_jwt_keys_free(&ks);
    ck_assert_ptr_null(ks.seen);
}
END_TEST

START_TEST(malformed_truncated_and_oversized_tokens_are_refused)
{
    rc_jwt_keys_t ks = {0};
    rc_jwt_keys_add(&ks, RC_JWT_HS256, NULL, "k", 1);
    char tok[8192];
    const char *why;
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", PAYLOAD, "HS256", "k");
    size_t n = strlen(tok);
    for (size_t cut = 0; cut < n; cut += 7) {
        rc_jwt_claims_t c;
        ck_assert_int_eq(rc_jwt_verify(&ks, NULL, tok, cut, NOW, &c, &why), -EACCES);
    }
    const char *bad[] = {"", "a", "a.b", "a.b.c.d", "....", "e30.e30.", "!!!.e30.e30"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(verify(&ks, NULL, bad[i], NOW, &why), -EACCES);
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    big[100] = big[200] = '.';
    ck_assert_int_eq(verify(&ks, NULL, big, NOW, &why), -EACCES);
    ck_assert_str_eq(why, "token too long");
    /* aud and iss when the policy names them */
    make(tok, sizeof(tok), "{\"alg\":\"HS256\"}", "{\"sub\":\"a\",\"exp\":1900000000,\"aud\":[\"x\",\"app\"],\"iss\":\"me\"}",
         "HS256", "k");
    rc_jwt_policy_t pol = {.audience = "app", .issuer = "me"};
    ck_assert_int_eq(verify(&ks, &pol, tok, NOW, &why), 0);
    pol.audience = "other";
    ck_assert_int_eq(verify(&ks, &pol, tok, NOW, &why), -EACCES);
    pol.audience = "app";
    pol.issuer = "you";
    ck_assert_int_eq(verify(&ks, &pol, tok, NOW, &why), -EACCES);
    rc_jwt_keys_free(&ks);
}
END_TEST

START_TEST(topic_patterns_are_exact_or_a_prefix)
{
    const char pats[] = "user:42:*\0room:lobby\0";
    size_t n = sizeof(pats) - 1;
    ck_assert(rc_jwt_topic_allowed(pats, n, "user:42:x", 9));
    ck_assert(rc_jwt_topic_allowed(pats, n, "user:42:", 8));
    ck_assert(!rc_jwt_topic_allowed(pats, n, "user:420:x", 10));
    ck_assert(!rc_jwt_topic_allowed(pats, n, "user:42", 7));
    ck_assert(rc_jwt_topic_allowed(pats, n, "room:lobby", 10));
    ck_assert(!rc_jwt_topic_allowed(pats, n, "room:lobby2", 11));
    ck_assert(!rc_jwt_topic_allowed(pats, n, "room:lobb", 9));
    ck_assert(rc_jwt_topic_allowed("*", 2, "anything", 8));
    ck_assert(!rc_jwt_topic_allowed("", 0, "anything", 8));
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("jwt", &tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_algorithm_verifies_with_its_pinned_key);
    tcase_add_test(tc, times_are_checked_here_with_the_leeway);
    tcase_add_test(tc, the_token_never_chooses_the_algorithm);
    tcase_add_test(tc, kid_selects_one_key_and_rotation_tries_each);
    tcase_add_test(tc, malformed_truncated_and_oversized_tokens_are_refused);
    tcase_add_test(tc, remembered_signatures_change_no_answer);
    tcase_add_test(tc, topic_patterns_are_exact_or_a_prefix);
    return rc_test_run(s);
}
