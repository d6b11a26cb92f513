/* Incremental UTF-8 validation with a small DFA in the style of Bjoern
 * Hoehrmann's decoder: each byte maps to a class, (state, class) maps to the
 * next state. Only validation is needed, so no code point is accumulated; the
 * states that restrict the second byte (E0, ED, F0, F4 leads) are what reject
 * overlongs, surrogates and code points above U+10FFFF. */
#include "proto/utf8.h"

#include <string.h>

/* Byte classes. */
enum {
    C_ASCII,   /* 00..7F */
    C_CONT_LO, /* 80..8F */
    C_CONT_MI, /* 90..9F */
    C_CONT_HI, /* A0..BF */
    C_BAD,     /* C0 C1 F5..FF: can never appear */
    C_L2,      /* C2..DF: lead of a 2-byte sequence */
    C_E0,      /* E0: 3-byte, second byte A0..BF (else overlong) */
    C_L3,      /* E1..EC EE EF: 3-byte */
    C_ED,      /* ED: 3-byte, second byte 80..9F (else surrogate) */
    C_F0,      /* F0: 4-byte, second byte 90..BF (else overlong) */
    C_L4,      /* F1..F3: 4-byte */
    C_F4,      /* F4: 4-byte, second byte 80..8F (else > U+10FFFF) */
    C_COUNT
};
_Static_assert(C_BAD == 4 && C_ED == 8 && C_F4 == 11, "utf8_class numbers follow the enum");

/* States. ACCEPT and REJECT are fixed by the header (0 and 1). */
enum {
    S_ACC = RC_UTF8_ACCEPT,
    S_REJ = RC_UTF8_REJECT,
    S_N1,  /* one continuation byte left */
    S_N2,  /* two left, any continuation */
    S_N3,  /* three left, any continuation */
    S_E0,  /* after E0: A0..BF then one more */
    S_ED,  /* after ED: 80..9F then one more */
    S_F0,  /* after F0: 90..BF then two more */
    S_F4,  /* after F4: 80..8F then two more */
    S_COUNT
};

/* Class of each byte; numbers are the enum above, one row per 16 bytes. */
static const uint8_t utf8_class[256] = {
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 00 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 10 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 20 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 30 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 40 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 50 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 60 */
     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 70 */
     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 80 */
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 90 */
     3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* A0 */
     3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* B0 */
     4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* C0 */
     5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, /* D0 */
     6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 7, /* E0 */
     9,10,10,10,11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* F0 */
};

#define R S_REJ
static const uint8_t utf8_next[S_COUNT][C_COUNT] = {
    /*           ASCII  LO    MI    HI    BAD  L2    E0    L3    ED    F0    L4    F4 */
    [S_ACC] = { S_ACC, R,    R,    R,    R, S_N1, S_E0, S_N2, S_ED, S_F0, S_N3, S_F4 },
    [S_REJ] = { R,     R,    R,    R,    R, R,    R,    R,    R,    R,    R,    R },
    [S_N1]  = { R,     S_ACC, S_ACC, S_ACC, R, R, R,    R,    R,    R,    R,    R },
    [S_N2]  = { R,     S_N1, S_N1, S_N1, R, R,    R,    R,    R,    R,    R,    R },
    [S_N3]  = { R,     S_N2, S_N2, S_N2, R, R,    R,    R,    R,    R,    R,    R },
    [S_E0]  = { R,     R,    R,    S_N1, R, R,    R,    R,    R,    R,    R,    R },
    [S_ED]  = { R,     S_N1, S_N1, R,    R, R,    R,    R,    R,    R,    R,    R },
    [S_F0]  = { R,     R,    S_N2, S_N2, R, R,    R,    R,    R,    R,    R,    R },
    [S_F4]  = { R,     S_N2, R,    R,    R, R,    R,    R,    R,    R,    R,    R },
};
#undef R

#define HIGH_BITS 0x8080808080808080ull
#define SHIFT 6 /* bits per state in a packed row */
_Static_assert(S_COUNT * SHIFT <= 64, "every state's next state fits one 64-bit row");

/* Shift-based DFA: rows[b] packs, for every state s, the next state's bit
 * offset at bit offset s * SHIFT. A step is then
 *     off = (rows[b] >> off) & 63
 * whose only dependency on the previous step is one shift: the table load
 * does not wait for the state, so mixed multi-byte text runs at a few cycles
 * per byte instead of the two dependent loads of a plain table DFA. The
 * state is kept unmasked between steps: only its low 6 bits are the offset,
 * and `x >> (off & 63)` is a single shift on x86 and arm64. Built
 * from utf8_next once, before main (no threads exist yet). */
static uint64_t rows[256];

__attribute__((constructor)) static void rows_build(void)
{
    for (int b = 0; b < 256; b++) {
        uint64_t row = 0;
        for (int st = 0; st < S_COUNT; st++)
            row |= (uint64_t)(utf8_next[st][utf8_class[b]] * SHIFT) << (st * SHIFT);
        rows[b] = row;
    }
}

static int block_ascii(const uint8_t *p)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return !((a | b) & HIGH_BITS);
}

uint32_t rc_utf8_feed(uint32_t state, const uint8_t *s, size_t n)
{
    if (state >= S_COUNT)
        return RC_UTF8_REJECT;
    uint64_t off = (uint64_t)state * SHIFT;
    size_t i = 0;
    /* 16 bytes at a time: an all-ASCII block at a character boundary is
     * skipped with two loads (JSON is mostly ASCII); any other block runs
     * through the DFA without a branch per byte. REJECT is sticky, so it is
     * checked once per block. */
    for (; i + 16 <= n; i += 16) {
        if ((off & 63) == 0 && block_ascii(s + i))
            continue;
        for (int j = 0; j < 16; j++)
            off = rows[s[i + j]] >> (off & 63);
        if ((off & 63) == S_REJ * SHIFT)
            return RC_UTF8_REJECT;
    }
    for (; i < n; i++)
        off = rows[s[i]] >> (off & 63);
    return (uint32_t)((off & 63) / SHIFT);
}
