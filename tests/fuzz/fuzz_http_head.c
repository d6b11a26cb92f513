/* libFuzzer driver for the producer listener's request framing
 * (broker/http_head.c): the head scanner fed in two pieces (the first byte
 * picks where the input is cut), the head parser on what it found, and the
 * chunked-body framer on the rest, fed a byte at a time and then whole.
 * Checks that every slice points into the head, that the scanner's answer
 * does not depend on how the bytes were cut, and that the framer's count
 * and verdict do not either. The parser file is included here because the
 * fuzz link line has the library sources but not broker/. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/http_head.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(rc_slice_t s, const char *buf, size_t len)
{
    if (s.p)
        assert(s.p >= buf && s.p + s.n <= buf + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = data[0];
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    if (cut > n)
        cut = n;

    rc_http_scan_t whole = {0}, split = {0};
    size_t end = rc_http_head_end(&whole, p, n);
    size_t e1 = rc_http_head_end(&split, p, cut);
    size_t e2 = e1 ? e1 : (cut + rc_http_head_end(&split, p + cut, n - cut));
    if (!e1 && e2 == cut)
        e2 = 0;
    assert(end == e2);
    if (!end)
        return 0;

    rc_http_head_t h;
    int st = rc_http_head_parse(p, end, &h);
    assert(st == 0 || st == -400 || st == -411 || st == -417 || st == -501 || st == -505);
    if (st == 0) {
        inside(h.method, p, end);
        inside(h.path, p, end);
        inside(h.authorization, p, end);
        assert(h.method.n > 0 && h.path.n > 0 && h.path.p[0] == '/');
        assert(!(h.chunked && h.content_length >= 0));
    }

    const char *b = p + end;
    size_t bn = n - end;
    rc_http_chunked_t c1 = {0}, c2 = {0};
    int d1 = 0, d2 = 0;
    long r1 = rc_http_chunked_feed(&c1, b, bn, 4096, &d1);
    long r2 = 0;
    for (size_t i = 0; i < bn && !d2; i++) {
        long r = rc_http_chunked_feed(&c2, b + i, 1, 4096, &d2);
        if (r < 0) {
            r2 = r;
            break;
        }
        r2 += r;
    }
    assert(r1 == r2 && d1 == d2);
    assert(r1 < 0 || (size_t)r1 <= bn);
    assert(c1.total <= 4096);
    return 0;
}
