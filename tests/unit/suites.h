/* One Check suite per pure component; check_main.c runs them all. */
#ifndef QW_TEST_SUITES_H
#define QW_TEST_SUITES_H

#include <check.h>

Suite *suite_keyring(void);
Suite *suite_seal(void);
Suite *suite_token(void);
Suite *suite_cookie(void);
Suite *suite_csrf(void);
Suite *suite_pwhash(void);
Suite *suite_text(void);
Suite *suite_wm_scan(void);
Suite *suite_csp(void);
Suite *suite_share(void);
Suite *suite_envelope(void);
Suite *suite_totp(void);
Suite *suite_pwpolicy(void);
Suite *suite_qr(void);
Suite *suite_rights(void);
Suite *suite_auditmac(void);
Suite *suite_path(void);
Suite *suite_jbody(void);
Suite *suite_json_keys(void);
Suite *suite_recovery(void);
Suite *suite_barrier(void);

#endif
