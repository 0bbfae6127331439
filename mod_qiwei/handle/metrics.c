/* The metrics as an endpoint (SetHandler qiwei-metrics: the Prometheus
 * text format) and as a section of mod_status's page.  What they count:
 * metrics.h and docs/monitoring.md.  Who may read them is the operator's
 * Require on the location (docs/monitoring.md: Require ip 127.0.0.1). */
#include "apr_strings.h"
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_optional_hooks.h"
#include "mod_status.h"

#include "qiwei.h"
#include "metrics.h"
#include "handle/handle.h"

#define METRICS_HANDLER "qiwei-metrics"

static int metrics_handler(request_rec *r)
{
    char *text;

    if (!r->handler || strcmp(r->handler, METRICS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    text = qw_metrics_text(r->pool);
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, strlen(text));
    if (!r->header_only) {
        ap_rputs(text, r);
    }
    return OK;
}

/* mod_status: the same figures, as "name{labels}: value" lines in the
 * machine-readable page (?auto), in a <pre> block otherwise. */
static int status_section(request_rec *r, int flags)
{
    char *text = qw_metrics_text(r->pool), *line, *last;

    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>mod_qiwei</h2>\n<pre>", r);
        ap_rputs(ap_escape_html(r->pool, text), r);
        ap_rputs("</pre>\n", r);
        return OK;
    }
    for (line = apr_strtok(text, "\n", &last); line;
         line = apr_strtok(NULL, "\n", &last)) {
        char *sp;
        if (*line == '#' || !(sp = strrchr(line, ' '))) {
            continue;
        }
        *sp = '\0';
        ap_rprintf(r, "%s: %s\n", line, sp + 1);
    }
    return OK;
}

void qw_metrics_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
