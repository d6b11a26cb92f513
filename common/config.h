/* Options of the broker and the edges: one table (common/options.c) with
 * every key, its default, who reads it and what it means. Every key is a
 * `--key value` flag and a `key = value` line of the file given with
 * `--config FILE` (`#` starts a comment); flags win over the file.
 * The README's option table is generated from the same table
 * (`broker --print-options`) and a test checks they agree. */
#ifndef RC_COMMON_CONFIG_H
#define RC_COMMON_CONFIG_H

#include <stdint.h>

/* RC_OPT_SUPERVISOR keys are read by the `ringcast` script; the broker and
 * the edges accept and ignore them, so one config file serves all three. */
enum rc_opt_user { RC_OPT_BROKER = 1, RC_OPT_EDGE = 2, RC_OPT_BOTH = 3, RC_OPT_SUPERVISOR = 4 };

typedef struct rc_opt {
    const char *name;
    const char *def;
    unsigned users;  /* rc_opt_user bits */
    const char *help;
} rc_opt_t;

extern const rc_opt_t rc_opts[];
extern const unsigned rc_nopts;

#define RC_CFG_MAX_OPTS 64

typedef struct rc_config {
    char *values[RC_CFG_MAX_OPTS]; /* owned copies; NULL means the default */
    unsigned user;                 /* who parses: RC_OPT_BROKER or RC_OPT_EDGE */
} rc_config_t;

/* Parses argv (after argv[0]) and the --config file into cfg.
 * Returns 0, 1 if --help/--print-options was handled (the caller exits 0),
 * or -EINVAL after printing what is wrong to stderr. */
int rc_config_parse(rc_config_t *cfg, unsigned user, int argc, char **argv);

void rc_config_free(rc_config_t *cfg);

/* Value of key (the default if unset). Aborts on an unknown key: that is our
 * bug, not the user's. */
const char *rc_cfg_str(const rc_config_t *cfg, const char *key);

/* Integer with optional K/M/G (binary) suffix. Stores to *out and returns 0,
 * or -EINVAL after printing which key is wrong. */
int rc_cfg_u64(const rc_config_t *cfg, const char *key, uint64_t *out);

/* Prints the markdown option table (the README's). */
void rc_config_print_table(void);

#endif
