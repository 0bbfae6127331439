/* Runs every unit test suite; exits non-zero on any failure, and also when
 * no test ran at all. */
#include <stdlib.h>
#include <stdio.h>
#include <apr_general.h>
#include "suites.h"

int main(void)
{
    SRunner *sr;
    int failed, run;

    apr_initialize();
    atexit(apr_terminate);

    sr = srunner_create(suite_keyring());
    srunner_add_suite(sr, suite_seal());
    srunner_add_suite(sr, suite_token());
    srunner_add_suite(sr, suite_cookie());
    srunner_add_suite(sr, suite_csrf());
    srunner_add_suite(sr, suite_pwhash());
    srunner_add_suite(sr, suite_text());
    srunner_add_suite(sr, suite_wm_scan());
    srunner_add_suite(sr, suite_csp());
    srunner_add_suite(sr, suite_share());
    srunner_add_suite(sr, suite_envelope());
    srunner_add_suite(sr, suite_totp());
    srunner_add_suite(sr, suite_pwpolicy());
    srunner_add_suite(sr, suite_qr());
    srunner_add_suite(sr, suite_rights());
    srunner_add_suite(sr, suite_auditmac());
    srunner_add_suite(sr, suite_path());
    srunner_add_suite(sr, suite_jbody());
    srunner_add_suite(sr, suite_json_keys());
    srunner_add_suite(sr, suite_recovery());
    srunner_add_suite(sr, suite_barrier());
    srunner_run_all(sr, CK_ENV);  /* CK_VERBOSITY=verbose lists tests */
    failed = srunner_ntests_failed(sr);
    run = srunner_ntests_run(sr);
    srunner_free(sr);
    if (run == 0) {
        fprintf(stderr, "no unit test ran\n");
        return EXIT_FAILURE;
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
