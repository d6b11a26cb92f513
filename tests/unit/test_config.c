/* common/config.c: flags, config files, precedence, errors. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/unit/unit.h"

static int parse(rc_config_t *c, int argc, char **argv) { return rc_config_parse(c, RC_OPT_EDGE, argc, argv); }

START_TEST(defaults_apply_when_nothing_is_given)
{
    rc_config_t c;
    char *argv[] = {"edge"};
    ck_assert_int_eq(parse(&c, 1, argv), 0);
    ck_assert_str_eq(rc_cfg_str(&c, "instance"), "default");
    uint64_t v;
    ck_assert_int_eq(rc_cfg_u64(&c, "edge_port", &v), 0);
    ck_assert_uint_eq(v, 4000);
    ck_assert_int_eq(rc_cfg_u64(&c, "max_message", &v), 0);
    ck_assert_uint_eq(v, 1u << 20);
    ck_assert_str_eq(rc_cfg_str(&c, "run_dir"), ""); /* the supervisor's /tmp/ringcast-<instance> */
    rc_config_free(&c);
}
END_TEST

START_TEST(flags_override_the_config_file_whatever_their_order)
{
    char path[] = "/tmp/rc-config-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\n  edge_port = 5000  # trailing comment\ninstance=fromfile\n\nmax_channels = 7\n");
    fclose(f);
    rc_config_t c;
    char *argv[] = {"edge", "--edge_port", "6000", "--config", path, "--max_channels=9"};
    ck_assert_int_eq(parse(&c, 6, argv), 0);
    ck_assert_str_eq(rc_cfg_str(&c, "edge_port"), "6000");
    ck_assert_str_eq(rc_cfg_str(&c, "instance"), "fromfile");
    ck_assert_str_eq(rc_cfg_str(&c, "max_channels"), "9");
    rc_config_free(&c);
    unlink(path);
}
END_TEST

START_TEST(unknown_keys_and_bad_values_are_errors)
{
    rc_config_t c;
    char *a1[] = {"edge", "--no_such_key", "1"};
    ck_assert_int_eq(parse(&c, 3, a1), -EINVAL);
    rc_config_free(&c);
    char *a2[] = {"edge", "--edge_port"};
    ck_assert_int_eq(parse(&c, 2, a2), -EINVAL);
    rc_config_free(&c);
    char *a3[] = {"edge", "stray"};
    ck_assert_int_eq(parse(&c, 2, a3), -EINVAL);
    rc_config_free(&c);
    char *a4[] = {"edge", "--edge_port", "12x"};
    ck_assert_int_eq(parse(&c, 3, a4), 0);
    uint64_t v;
    ck_assert_int_eq(rc_cfg_u64(&c, "edge_port", &v), -EINVAL);
    rc_config_free(&c);
    char *a5[] = {"edge", "--config", "/nonexistent/file"};
    ck_assert_int_eq(parse(&c, 3, a5), -EINVAL);
    rc_config_free(&c);
}
END_TEST

START_TEST(sizes_take_binary_suffixes)
{
    rc_config_t c;
    char *argv[] = {"edge", "--out_queue_max", "3K", "--max_message", "2m", "--recv_buffers", "1G"};
    ck_assert_int_eq(parse(&c, 7, argv), 0);
    uint64_t v;
    ck_assert_int_eq(rc_cfg_u64(&c, "out_queue_max", &v), 0);
    ck_assert_uint_eq(v, 3072);
    ck_assert_int_eq(rc_cfg_u64(&c, "max_message", &v), 0);
    ck_assert_uint_eq(v, 2u << 20);
    ck_assert_int_eq(rc_cfg_u64(&c, "recv_buffers", &v), 0);
    ck_assert_uint_eq(v, 1u << 30);
    rc_config_free(&c);
}
END_TEST

START_TEST(every_option_has_a_default_users_and_help)
{
    for (unsigned i = 0; i < rc_nopts; i++) {
        ck_assert_ptr_nonnull(rc_opts[i].def);
        ck_assert(rc_opts[i].users & (RC_OPT_BOTH | RC_OPT_SUPERVISOR));
        ck_assert(rc_opts[i].help && rc_opts[i].help[0]);
        for (unsigned j = 0; j < i; j++)
            ck_assert_str_ne(rc_opts[i].name, rc_opts[j].name);
    }
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("config", &tc, NULL, NULL);
    tcase_add_test(tc, defaults_apply_when_nothing_is_given);
    tcase_add_test(tc, flags_override_the_config_file_whatever_their_order);
    tcase_add_test(tc, unknown_keys_and_bad_values_are_errors);
    tcase_add_test(tc, sizes_take_binary_suffixes);
    tcase_add_test(tc, every_option_has_a_default_users_and_help);
    return rc_test_run(s);
}
