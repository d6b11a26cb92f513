#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static int opt_index(const char *name, size_t n)
{
    for (unsigned i = 0; i < rc_nopts; i++)
        if (strlen(rc_opts[i].name) == n && memcmp(rc_opts[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

static int set_value(rc_config_t *cfg, const char *key, size_t klen, const char *val, size_t vlen,
                     const char *where)
{
    int i = opt_index(key, klen);
    if (i < 0) {
        fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n", where, (int)klen, key);
        return -EINVAL;
    }
    /* A key meant only for the other process is accepted and ignored, so one
     * config file can serve the whole cluster. */
    free(cfg->values[i]);
    cfg->values[i] = rc_xstrndup(val, vlen);
    return 0;
}

static char *trim(char *s, char **end)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *end = e;
    return s;
}

static int load_file(rc_config_t *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "config: cannot open %s: %s\n", path, strerror(errno));
        return -EINVAL;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *end, *s = trim(line, &end);
        if (s == end)
            continue;
        char *eq = memchr(s, '=', (size_t)(end - s));
        char where[600];
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (!eq) {
            fprintf(stderr, "%s: expected 'key = value'\n", where);
            rc = -EINVAL;
            break;
        }
        char *kend = eq;
        while (kend > s && isspace((unsigned char)kend[-1]))
            kend--;
        char *v = eq + 1;
        while (v < end && isspace((unsigned char)*v))
            v++;
        rc = set_value(cfg, s, (size_t)(kend - s), v, (size_t)(end - v), where);
    }
    fclose(f);
    return rc;
}

static void usage(unsigned user)
{
    fprintf(stderr, "usage: %s [--key value ...] [--config FILE] [--print-options]\noptions:\n",
            user == RC_OPT_BROKER ? "broker" : "edge");
    for (unsigned i = 0; i < rc_nopts; i++)
        if (rc_opts[i].users & user)
            fprintf(stderr, "  --%-22s %s (default: %s)\n", rc_opts[i].name, rc_opts[i].help,
                    rc_opts[i].def[0] ? rc_opts[i].def : "\"\"");
}

int rc_config_parse(rc_config_t *cfg, unsigned user, int argc, char **argv)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->user = user;
    /* The file first, so flags override it whatever their order. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && load_file(cfg, argv[i + 1]) < 0)
            return -EINVAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(user);
            return 1;
        }
        if (strcmp(a, "--print-options") == 0) {
            rc_config_print_table();
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "unexpected argument '%s' (flags are --key value)\n", a);
            return -EINVAL;
        }
        const char *key = a + 2, *eq = strchr(key, '=');
        const char *val;
        size_t klen;
        if (eq) { /* --key=value is accepted too */
            klen = (size_t)(eq - key);
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "flag %s needs a value\n", a);
                return -EINVAL;
            }
            klen = strlen(key);
            val = argv[++i];
        }
        if (set_value(cfg, key, klen, val, strlen(val), "flags") < 0)
            return -EINVAL;
    }
    return 0;
}

void rc_config_free(rc_config_t *cfg)
{
    for (unsigned i = 0; i < RC_CFG_MAX_OPTS; i++)
        free(cfg->values[i]);
    memset(cfg, 0, sizeof(*cfg));
}

const char *rc_cfg_str(const rc_config_t *cfg, const char *key)
{
    int i = opt_index(key, strlen(key));
    if (i < 0) {
        fprintf(stderr, "BUG: option '%s' is not in the table\n", key);
        abort();
    }
    return cfg->values[i] ? cfg->values[i] : rc_opts[i].def;
}

int rc_cfg_u64(const rc_config_t *cfg, const char *key, uint64_t *out)
{
    const char *s = rc_cfg_str(cfg, key);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm')
        mult = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g')
        mult = 1ull << 30, end++;
    if (errno || end == s || *end || s[0] == '-' || (mult > 1 && v > UINT64_MAX / mult)) {
        fprintf(stderr, "option %s: '%s' is not a non-negative integer (K/M/G suffix allowed)\n", key, s);
        return -EINVAL;
    }
    *out = (uint64_t)v * mult;
    return 0;
}

void rc_config_print_table(void)
{
    printf("| key (flag `--key`) | default | used by | meaning |\n|---|---|---|---|\n");
    for (unsigned i = 0; i < rc_nopts; i++) {
        const rc_opt_t *o = &rc_opts[i];
        const char *who = o->users == RC_OPT_BOTH        ? "both"
                          : o->users == RC_OPT_BROKER    ? "broker"
                          : o->users == RC_OPT_SUPERVISOR ? "supervisor"
                                                          : "edge";
        if (o->def[0])
            printf("| `%s` | `%s` | %s | %s |\n", o->name, o->def, who, o->help);
        else
            printf("| `%s` | (empty) | %s | %s |\n", o->name, who, o->help);
    }
}
