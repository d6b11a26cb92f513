#include "common/rand.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

static uint64_t s[4];

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rc_rand_init(void)
{
    if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
        fprintf(stderr, "level=fatal msg=\"getrandom failed\"\n");
        abort();
    }
    if (!(s[0] | s[1] | s[2] | s[3]))
        s[0] = 1; /* the all-zero state is the one xoshiro cannot leave */
}

uint64_t rc_rand_u64(void)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t rc_rand_range(uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo + 1;
    return span ? lo + rc_rand_u64() % span : rc_rand_u64();
}
