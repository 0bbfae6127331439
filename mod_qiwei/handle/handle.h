/* The handlers (layer 5): the qiwei handler's pages (login, logout,
 * activation).  Includes what every handler uses from the layers below. */
#ifndef QW_HANDLE_H
#define QW_HANDLE_H

#include "httpd.h"
#include "req.h"
#include "form.h"
#include "gate.h"
#include "render/page.h"

int qw_handle_login(request_rec *r);
int qw_handle_logout(request_rec *r);
int qw_handle_activate(request_rec *r);
/* handle/home.c: the member's home page */
int qw_handle_home(request_rec *r);
/* <handler>/console/<rest>: the admin console's static files (rest NULL:
 * <handler>/console without the slash, redirected). */
int qw_handle_console(request_rec *r, const char *rest);
/* handle/mailbox_pages.c: <handler>/mailbox and <handler>/mailbox/<id>
 * (the member's private mailbox); DECLINED when r is neither. */
int qw_mailbox_dispatch(request_rec *r);

/* handle/handler.c */
void qw_handler_register_hooks(apr_pool_t *p);

/* handle/article_body.c: QiweiArticleStore's stored bodies */
void qw_article_body_register_hooks(apr_pool_t *p);
/* SetHandler qiwei-metrics and the mod_status section (metrics.c) */
void qw_metrics_register_hooks(apr_pool_t *p);

#endif
