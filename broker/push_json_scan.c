/* A pre-scan of JSON push bodies, before jansson parses them: jansson has
 * no depth option and reports invalid UTF-8 by byte offset only, so one pass
 * over the bytes finds nesting deeper than RC_PUSH_MAX_DEPTH and invalid
 * UTF-8 and names the event (batch index) and field they are in.
 * Syntax errors are jansson's to report: on anything unexpected the scan
 * just goes on or stops without an error. */
#include "broker/push_parse.h"

#include <errno.h>
#include <string.h>

#include "proto/utf8.h"

#define SCAN_MAX_LEVELS (2 + RC_PUSH_MAX_DEPTH)

typedef struct scan {
    char kind[SCAN_MAX_LEVELS + 1]; /* '{' or '[' per open level, 1-based */
    unsigned char want_key[SCAN_MAX_LEVELS + 1];
    int depth;
    long index;     /* event index in a batch; -1 otherwise */
    char field[40]; /* key of the current event field */
} scan_t;

static void scan_field_set(scan_t *s, const char *p, size_t n)
{
    size_t m = n < sizeof(s->field) - 1 ? n : sizeof(s->field) - 1;
    memcpy(s->field, p, m);
    s->field[m] = 0;
}

static const char *scan_where(const scan_t *s, int event_level)
{
    if (event_level == 0)
        return "data";
    return s->field[0] ? s->field : "the event";
}

int rc_push_json_prescan(rc_push_batch_t *b, const char *p, size_t n, int event_level)
{
    scan_t s;
    s.depth = 0;
    s.index = event_level == 2 ? 0 : -1;
    s.field[0] = 0;
    long idx_out = event_level == 0 ? b->index : -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '"') {
            size_t start = ++i;
            while (i < n && p[i] != '"')
                i += p[i] == '\\' ? 2 : 1;
            if (i >= n)
                return 0; /* unterminated: jansson says so */
            int is_key = s.depth > 0 && s.kind[s.depth] == '{' && s.want_key[s.depth];
            if (!rc_utf8_valid((const uint8_t *)p + start, i - start)) {
                long idx = event_level == 2 ? s.index : idx_out;
                if (is_key && s.depth == event_level)
                    return rc_push_fail(b, 422, idx, "invalid UTF-8 in a field name");
                return rc_push_fail(b, 422, idx, "invalid UTF-8 in %s", scan_where(&s, event_level));
            }
            if (is_key) {
                s.want_key[s.depth] = 0;
                if (s.depth == event_level)
                    scan_field_set(&s, p + start, i - start);
            }
        } else if (c == '{' || c == '[') {
            if (s.depth >= event_level + RC_PUSH_MAX_DEPTH) {
                long idx = event_level == 2 ? s.index : idx_out;
                return rc_push_fail(b, 422, idx, "%s nested deeper than %d levels", scan_where(&s, event_level),
                                    RC_PUSH_MAX_DEPTH);
            }
            s.depth++;
            s.kind[s.depth] = c;
            s.want_key[s.depth] = c == '{';
        } else if (c == '}' || c == ']') {
            if (s.depth == 0)
                return 0;
            if (s.depth == event_level)
                s.field[0] = 0;
            s.depth--;
        } else if (c == ',') {
            if (s.depth == 0)
                return 0;
            if (s.kind[s.depth] == '{')
                s.want_key[s.depth] = 1;
            if (s.depth == event_level)
                s.field[0] = 0;
            if (event_level == 2 && s.depth == 1)
                s.index++;
        }
    }
    return 0;
}
