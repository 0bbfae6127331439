/* qiweictl: the operator's command line for mod_qiwei.
 *
 * Keys, schema migrations, enterprises, departments, roles and directory
 * members, the audit chain check and housekeeping.  Everything goes through
 * the store (mod_qiwei/store), so each change is one transaction with its
 * audit row.  See docs/qiweictl.md. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <qrencode.h>

#include "qw_version.h"
#include "store/store.h"
#include "ctl_db.h"
#include "util/envelope.h"
#include "util/keyring.h"
#include "util/pwhash.h"
#include "util/share.h"
#include "util/text.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3
#define EXIT_CONFLICT 4
#define EXIT_UNCONFIRMED 5

#define DEFAULT_KEYFILE "/etc/apache2/qiwei.key"
#define DEFAULT_ACTIVATE_URL "http://127.0.0.1:8080/qiwei/activate"
#define DEFAULT_TTL_HOURS 72
#define PW_MIN_CHARS 12

/* command options, as bits so each command lists what it accepts */
enum {
    O_SQLDIR = 1 << 0,
    O_APPROLE = 1 << 1,
    O_PARENT = 1 << 2,
    O_NAME = 1 << 3,
    O_MOBILE = 1 << 4,
    O_EMAIL = 1 << 5,
    O_DEPT = 1 << 6,
    O_URL = 1 << 7,
    O_TTL = 1 << 8,
    O_QR = 1 << 9,
    O_YES = 1 << 10,
    O_ROTATE = 1 << 11,
    O_TITLE = 1 << 12,
    O_OWNER = 1 << 13,
    O_ALL = 1 << 14,
    O_ROLE = 1 << 15,
    O_MEMBER = 1 << 16,
    O_CONF = 1 << 17,
    O_WM = 1 << 18,
    O_RESP = 1 << 19,
    O_RELATED = 1 << 21,
    O_TYPE = 1 << 22,
    O_EXPIRES = 1 << 23,
    O_BASEURL = 1 << 24,
    O_SUPER = 1 << 25,       /* admin commands (issue 5) */
    O_BIND = 1 << 26,
    O_FROM = 1 << 27,
    O_TO = 1 << 28,
    O_OPERATOR = 1 << 29,
    O_MODULE = 1 << 30,
    O_GLOBAL = 1 << 20       /* accepted by every command */
};
/* past the 31 bits of an int: flags are unsigned long long */
#define O_RULE (1ULL << 31)

typedef struct {
    const char *name;
    unsigned long long bit;
    int has_arg;
    int index;               /* into opts.val */
} optdef;

enum {
    V_DB, V_KEYFILE, V_PWMEM, V_PWOPS, V_SQLDIR, V_APPROLE, V_PARENT, V_NAME,
    V_MOBILE, V_EMAIL, V_DEPT, V_URL, V_TTL, V_TITLE, V_OWNER, V_ROLE,
    V_MEMBER, V_WM, V_RESP, V_RELATED, V_TYPE, V_EXPIRES, V_BASEURL,
    V_BIND, V_FROM, V_TO, V_OPERATOR, V_MODULE, V_WAIT, V_RULE, V_COUNT
};

static const optdef optdefs[] = {
    { "database", O_GLOBAL, 1, V_DB },
    { "key-file", O_GLOBAL, 1, V_KEYFILE },
    { "pw-mem", O_GLOBAL, 1, V_PWMEM },
    { "pw-ops", O_GLOBAL, 1, V_PWOPS },
    { "wait", O_GLOBAL, 1, V_WAIT },
    { "sql-dir", O_SQLDIR, 1, V_SQLDIR },
    { "app-role", O_APPROLE, 1, V_APPROLE },
    { "parent", O_PARENT, 1, V_PARENT },
    { "name", O_NAME, 1, V_NAME },
    { "mobile", O_MOBILE, 1, V_MOBILE },
    { "email", O_EMAIL, 1, V_EMAIL },
    { "dept", O_DEPT, 1, V_DEPT },
    { "activate-url", O_URL, 1, V_URL },
    { "ttl", O_TTL, 1, V_TTL },
    { "qr", O_QR, 0, -1 },
    { "yes", O_YES, 0, -1 },
    { "rotate", O_ROTATE, 0, -1 },
    { "title", O_TITLE, 1, V_TITLE },
    { "owner", O_OWNER, 1, V_OWNER },
    { "all", O_ALL, 0, -1 },
    { "role", O_ROLE, 1, V_ROLE },
    { "member", O_MEMBER, 1, V_MEMBER },
    { "confidential", O_CONF, 0, -1 },
    { "watermark", O_WM, 1, V_WM },
    { "responsible", O_RESP, 1, V_RESP },
    { "related", O_RELATED, 1, V_RELATED },
    { "type", O_TYPE, 1, V_TYPE },
    { "expires", O_EXPIRES, 1, V_EXPIRES },
    { "base-url", O_BASEURL, 1, V_BASEURL },
    { "super", O_SUPER, 0, -1 },
    { "bind", O_BIND, 1, V_BIND },
    { "from", O_FROM, 1, V_FROM },
    { "to", O_TO, 1, V_TO },
    { "operator", O_OPERATOR, 1, V_OPERATOR },
    { "module", O_MODULE, 1, V_MODULE },
    { "rule", O_RULE, 1, V_RULE },
    { NULL, 0, 0, 0 }
};

typedef struct {
    const char *val[V_COUNT];
    unsigned long long flags;    /* O_* bits seen */
    int help, version;
    apr_array_header_t *pos; /* positional arguments */
} opts;

static const char *usage_text =
"usage: qiweictl [-d CONNINFO] [-k KEYFILE] [--pw-mem MiB] [--pw-ops N]\n"
"                COMMAND [ARGS]\n"
"\n"
"keys and schema:\n"
"  keygen FILE                     create a new key file (mode 0600)\n"
"  keygen --rotate FILE            add a new current key to FILE\n"
"  migrate [--sql-dir DIR] [--app-role ROLE]\n"
"  schema-version\n"
"enterprises, departments, roles:\n"
"  enterprise add CODE NAME\n"
"  enterprise list\n"
"  enterprise set-sharing CODE on|off\n"
"  enterprise set-admin-two-step CODE required|optional\n"
"  dept add ENT CODE NAME [--parent CODE]\n"
"  dept list ENT\n"
"  role add ENT NAME\n"
"members:\n"
"  member add ENT ACCOUNT --name NAME [--mobile M] [--email E]\n"
"             [--dept CODE[,CODE...]] [--activate-url URL] [--ttl HOURS] "
"[--qr]\n"
"  member reinvite ENT ACCOUNT [--activate-url URL] [--ttl HOURS] [--qr]\n"
"  member list ENT\n"
"  member show ENT ACCOUNT\n"
"  member set-password ENT ACCOUNT       (password: first line of stdin)\n"
"  member set-status ENT ACCOUNT active|disabled|departed\n"
"  member delete ENT ACCOUNT --yes\n"
"  member move ENT ACCOUNT DEPT[,DEPT...]\n"
"  member grant-role ENT ACCOUNT ROLE\n"
"  member revoke-role ENT ACCOUNT ROLE\n"
"articles (PATH is the decoded URL path, e.g. /news/2024/q1.html):\n"
"  article add ENT MODULE PATH --title T --owner ACCOUNT [--all]\n"
"             [--dept CODES] [--role NAMES] [--member ACCOUNTS]\n"
"             [--confidential] [--watermark on|off|inherit]\n"
"  article audience ENT MODULE PATH [--all] [--dept CODES] [--role NAMES]\n"
"             [--member ACCOUNTS]          (replaces the audience)\n"
"  article people ENT MODULE PATH [--responsible ACCOUNTS]\n"
"             [--related ACCOUNTS]         (replaces both lists)\n"
"  article body ENT MODULE PATH FILE|- [--type CONTENT-TYPE]\n"
"  article cat ENT MODULE PATH             (decrypted body to stdout)\n"
"  article confidential ENT MODULE PATH on|off\n"
"  article watermark ENT MODULE PATH on|off|inherit\n"
"  article share ENT MODULE PATH on|off|revoke\n"
"  article link ENT MODULE PATH [--expires SECONDS] [--base-url URL]\n"
"  article show ENT MODULE PATH\n"
"  article list ENT\n"
"  article delete ENT MODULE PATH --yes\n"
"  keys rewrap                     re-wrap article data keys to the "
"current key\n"
"audit and housekeeping:\n"
"  audit verify ENT [SEQ:MAC]      (SEQ:MAC: a head recorded earlier)\n"
"  audit head ENT                  the newest row's SEQ:MAC, to keep apart\n"
"  audit list ENT [--from T] [--to T] [--operator ACTOR] [--module M]\n"
"  audit export ENT [--from T] [--to T] [--operator ACTOR] [--module M]\n"
"                                  (CSV on stdout; the export is logged)\n"
"admin accounts and roles:\n"
"  admin add ENT ACCOUNT [--super] [--bind MEMBER]\n"
"  admin set-password ENT ACCOUNT        (password: first line of stdin)\n"
"  admin set-status ENT ACCOUNT active|disabled\n"
"  admin bind ENT ACCOUNT MEMBER          (its logins remind MEMBER)\n"
"  admin unbind ENT ACCOUNT\n"
"  admin delete ENT ACCOUNT --yes\n"
"  admin unlock ENT ACCOUNT               (lift login locks and waits)\n"
"  admin list ENT\n"
"  admin role add ENT NAME MODULE[,MODULE...]   (create or replace)\n"
"  admin role delete ENT NAME\n"
"  admin role list ENT\n"
"  admin grant ENT ACCOUNT ROLE\n"
"  admin revoke ENT ACCOUNT ROLE\n"
"mailbox (docs/mailbox.md; the body is read from stdin):\n"
"  mailbox send ENT --title T --rule read_once[:MINUTES]|expires_at|kept\n"
"             [--expires SECONDS|TIME] [--confidential] [--all]\n"
"             [--to ACCOUNTS] [--member ACCOUNTS] [--dept CODES] "
"[--role NAMES]\n"
"  mailbox list ENT ACCOUNT        a member's mailbox (titles, no bodies)\n"
"  mailbox sent ENT                messages sent by admins and operators\n"
"  mailbox receipts ENT ID         who has it, read it, destroyed it\n"
"  mailbox destroy ENT ID --yes    destroy a message for everyone\n"
"  mailbox wipe ENT ACCOUNT --yes  destroy a member's mailbox, end their\n"
"                                  sessions (the lost phone)\n"
"  gc                              expired sessions, tokens and messages\n"
"\n"
"options:\n"
"  -d, --database CONNINFO  libpq connection string or URI "
"(default: $QIWEI_DSN,\n"
"                           else libpq's PG* defaults)\n"
"  -k, --key-file FILE      key file (default: $QIWEI_KEYFILE, else\n"
"                           " DEFAULT_KEYFILE ")\n"
"  --pw-mem MiB             Argon2id memory for new passwords (default 64, "
"min 19)\n"
"  --pw-ops N               Argon2id passes (default 2, min 2)\n"
"  --wait SECONDS           after a change, wait up to this long until every\n"
"                           mod_qiwei node has applied it (default 2, max 60;\n"
"                           0: do not wait)\n"
"  -h, --help               this text;  --version  the version\n"
"\n"
"exit status: 0 ok, 1 runtime or database error, 2 usage or invalid input,\n"
"3 not found, 4 conflict (already exists), 5 the change is committed but\n"
"not yet confirmed by every mod_qiwei node (see --wait).\n";

static void die_msg(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void die_msg(const char *fmt, ...)
{
    va_list ap;

    fputs("qiweictl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("qiweictl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(qiweictl --help for usage)\n", stderr);
    return EXIT_USAGE;
}

static int exit_for(qw_status rc)
{
    switch (rc) {
    case QW_OK:           return 0;
    case QW_ERR_INVALID:  return EXIT_USAGE;
    case QW_ERR_NOTFOUND: return EXIT_NOTFOUND;
    case QW_ERR_CONFLICT: return EXIT_CONFLICT;
    default:              return EXIT_RUNTIME;
    }
}

static int fail(qw_store *st, qw_status rc)
{
    die_msg("%s", st->err ? st->err : qw_status_name(rc));
    return exit_for(rc);
}

static int parse_args(int argc, char **argv, opts *o, apr_pool_t *p)
{
    int i, only_pos = 0;

    memset(o, 0, sizeof(*o));
    o->pos = apr_array_make(p, 8, sizeof(const char *));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (only_pos || a[0] != '-' || a[1] == '\0') {
            *(const char **)apr_array_push(o->pos) = a;
        }
        else if (strcmp(a, "--") == 0) {
            only_pos = 1;
        }
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = 1;
        }
        else if (strcmp(a, "--version") == 0) {
            o->version = 1;
        }
        else if (a[1] == 'd' || a[1] == 'k') {
            /* -d VALUE or -dVALUE */
            int idx = a[1] == 'd' ? V_DB : V_KEYFILE;

            if (a[2] != '\0') {
                o->val[idx] = a + 2;
            }
            else if (i + 1 < argc) {
                o->val[idx] = argv[++i];
            }
            else {
                return usage_error("option %s needs a value", a);
            }
        }
        else if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const optdef *d;

            for (d = optdefs; d->name; d++) {
                if (strlen(d->name) == len && strncmp(d->name, name, len) == 0) {
                    break;
                }
            }
            if (d->name == NULL) {
                return usage_error("unknown option %s", a);
            }
            if (d->has_arg) {
                if (eq) {
                    o->val[d->index] = eq + 1;
                }
                else if (i + 1 < argc) {
                    o->val[d->index] = argv[++i];
                }
                else {
                    return usage_error("option %s needs a value", a);
                }
            }
            else if (eq) {
                return usage_error("option --%s takes no value", d->name);
            }
            o->flags |= d->bit;
        }
        else {
            return usage_error("unknown option %s", a);
        }
    }
    return 0;
}

static const char *pos(const opts *o, int i)
{
    return i < o->pos->nelts ? APR_ARRAY_IDX(o->pos, i, const char *) : NULL;
}

/* Strict decimal in [min, max]; -1 if not. */
static long parse_num(const char *s, long min, long max)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) {
        return -1;
    }
    return v;
}

/* --- keygen --- */

static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static void fsync_dir(const char *path, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);

    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Create path exclusively with mode 0600 and write text to it. */
static int write_keyfile(const char *path, char *text)
{
    size_t n = strlen(text);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);

    if (fd < 0) {
        return -1;
    }
    /* O_CREAT honours the umask; make sure it is exactly 0600 */
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, n) != 0
        || fsync(fd) != 0) {
        int e = errno;

        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    return close(fd);
}

static int cmd_keygen(opts *o, apr_pool_t *p)
{
    const char *file = pos(o, 1);
    const char *err = NULL;
    char *text;

    if (file == NULL || o->pos->nelts != 2) {
        return usage_error("%s", "usage: qiweictl keygen [--rotate] FILE");
    }
    if (!(o->flags & O_ROTATE)) {
        text = qw_keyring_generate(p, NULL);
        if (text == NULL) {
            die_msg("random generator failed");
            return EXIT_RUNTIME;
        }
        if (write_keyfile(file, text) != 0) {
            int e = errno;

            OPENSSL_cleanse(text, strlen(text));
            if (e == EEXIST) {
                die_msg("%s already exists: refusing to overwrite a key file "
                        "(use keygen --rotate to add a key)", file);
                return EXIT_CONFLICT;
            }
            die_msg("cannot create %s: %s", file, strerror(e));
            return EXIT_RUNTIME;
        }
        OPENSSL_cleanse(text, strlen(text));
        fsync_dir(file, p);
        printf("created key file %s with key 1 (mode 0600)\n"
               "Back it up somewhere safe and separate from database "
               "backups:\nwithout it, encrypted fields and the audit chain "
               "cannot be read or checked.\n", file);
        return 0;
    }
    else {
        qw_keyring *old = qw_keyring_load(p, file, &err);
        uint32_t newkid;
        const char *tmp = apr_pstrcat(p, file, ".tmp", NULL);

        if (old == NULL) {
            die_msg("cannot load key file %s: %s", file, err ? err : "?");
            return EXIT_RUNTIME;
        }
        text = qw_keyring_generate(p, old);
        if (text == NULL) {
            die_msg("random generator failed");
            return EXIT_RUNTIME;
        }
        if (write_keyfile(tmp, text) != 0) {
            int e = errno;

            OPENSSL_cleanse(text, strlen(text));
            die_msg("cannot create %s: %s%s", tmp, strerror(e),
                    e == EEXIST ? " (left over from an interrupted run? "
                    "check and remove it)" : "");
            return e == EEXIST ? EXIT_CONFLICT : EXIT_RUNTIME;
        }
        {
            const char *perr = NULL;
            qw_keyring *nk = qw_keyring_parse(p, text, strlen(text), &perr);

            newkid = nk ? qw_keyring_current(nk) : 0;
        }
        OPENSSL_cleanse(text, strlen(text));
        if (rename(tmp, file) != 0) {
            die_msg("cannot replace %s: %s", file, strerror(errno));
            unlink(tmp);
            return EXIT_RUNTIME;
        }
        fsync_dir(file, p);
        printf("added key %u to %s; it is now the current key.\n"
               "Old keys stay in the file: they still open existing data.\n"
               "Reload Apache (apachectl graceful) to start using it, and "
               "back up the new file.\n",
               (unsigned)newkid, file);
        return 0;
    }
}

/* --- QR code --- */

static int qr_dark(const QRcode *qr, int x, int y, int quiet)
{
    x -= quiet;
    y -= quiet;
    if (x < 0 || y < 0 || x >= qr->width || y >= qr->width) {
        return 0;
    }
    return qr->data[y * qr->width + x] & 1;
}

/* Two modules per character cell with half blocks; light modules are drawn,
 * dark ones left blank, as `qrencode -t UTF8` does for dark terminals. */
static int print_qr(const char *text)
{
    const int quiet = 2;
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int x, y, size;

    if (qr == NULL) {
        die_msg("cannot make a QR code: %s", strerror(errno));
        return -1;
    }
    size = qr->width + 2 * quiet;
    for (y = 0; y < size; y += 2) {
        for (x = 0; x < size; x++) {
            int top = qr_dark(qr, x, y, quiet);
            int bot = y + 1 < size ? qr_dark(qr, x, y + 1, quiet) : 0;

            fputs(top ? (bot ? " " : "\xe2\x96\x84")        /* ▄ */
                      : (bot ? "\xe2\x96\x80"               /* ▀ */
                             : "\xe2\x96\x88"), stdout);    /* █ */
        }
        fputc('\n', stdout);
    }
    QRcode_free(qr);
    return 0;
}

static int print_link(opts *o, apr_pool_t *p, const char *token)
{
    const char *url = o->val[V_URL] ? o->val[V_URL] : DEFAULT_ACTIVATE_URL;
    const char *link = apr_pstrcat(p, url, strchr(url, '?') ? "&" : "?",
                                   "t=", token, NULL);

    printf("activation link: %s\n", link);
    if ((o->flags & O_QR) && print_qr(link) != 0) {
        return EXIT_RUNTIME;
    }
    return 0;
}

static int ttl_of(opts *o, int *ttl)
{
    long v;

    *ttl = DEFAULT_TTL_HOURS;
    if (o->val[V_TTL] == NULL) {
        return 0;
    }
    v = parse_num(o->val[V_TTL], 1, 720);
    if (v < 0) {
        return usage_error("--ttl must be a number of hours from 1 to 720, "
                           "not '%s'", o->val[V_TTL]);
    }
    *ttl = (int)v;
    return 0;
}

/* --- password from stdin --- */

/* Reads the first line of stdin into buf (without \r\n).  Returns its
 * length, or -1 (message printed) when empty, too long or unreadable. */
static long read_password(char *buf, size_t size)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO), echo_off = 0;
    size_t n;
    int c;

    /* unbuffered: no copy of the password left in stdio's buffer */
    setvbuf(stdin, NULL, _IONBF, 0);
    if (tty) {
        fputs("new password: ", stderr);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
            quiet = old;
            quiet.c_lflag &= ~(tcflag_t)ECHO;
            echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
    }
    n = 0;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n < size) {
            buf[n] = (char)c;
        }
        n++;
    }
    if (echo_off) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n > 0 && n <= size && buf[n - 1] == '\r') {
        n--;
    }
    if (n > QW_PW_MAX_LEN) {
        OPENSSL_cleanse(buf, size);
        die_msg("password is too long (at most %d bytes)", QW_PW_MAX_LEN);
        return -1;
    }
    buf[n] = '\0';
    if (n == 0) {
        die_msg("no password given on stdin (empty first line)");
        return -1;
    }
    if (qw_utf8_chars(buf, n) < PW_MIN_CHARS) {
        OPENSSL_cleanse(buf, size);
        die_msg("password is too short (at least %d characters)",
                PW_MIN_CHARS);
        return -1;
    }
    return (long)n;
}

/* --- database --- */

static const char *operator_name(apr_pool_t *p)
{
    struct passwd *pw = getpwuid(geteuid());

    if (pw && pw->pw_name && *pw->pw_name) {
        return apr_pstrcat(p, "operator:", pw->pw_name, NULL);
    }
    return apr_psprintf(p, "operator:uid%lu", (unsigned long)geteuid());
}

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

/* --- command table --- */

typedef struct cmd cmd;
typedef int (*cmd_fn)(qw_store *st, opts *o);

struct cmd {
    const char *group;       /* "member", or NULL for one-word commands */
    const char *name;
    int npos;                /* positional args after the command words */
    unsigned long long allowed;  /* O_* bits */
    int needs_keys;
    int needs_schema;        /* checks QW_SCHEMA_VERSION */
    cmd_fn fn;
    const char *synopsis;
};

/* args after the command words */
#define ARG(i) pos(o, (i) + (c_words))
static int c_words;

static int c_migrate(qw_store *st, opts *o)
{
    const char *dir = o->val[V_SQLDIR];
    qw_status rc;
    int before, after;

    if (dir == NULL) {
#ifdef QW_SQLDIR
        struct stat sb;

        dir = QW_SQLDIR;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            dir = "./sql";
        }
#else
        dir = "./sql";
#endif
    }
    before = qw_schema_version(st);
    if ((rc = qw_migrate(st, dir, o->val[V_APPROLE])) != QW_OK) {
        return fail(st, rc);
    }
    after = qw_schema_version(st);
    if (after == before) {
        printf("schema is up to date at version %d (%s)\n", after, dir);
    }
    else {
        printf("schema migrated from version %d to %d (%s)\n", before, after,
               dir);
    }
    if (o->val[V_APPROLE]) {
        printf("granted the application's rights to role %s\n",
               o->val[V_APPROLE]);
    }
    return 0;
}

static int c_schema_version(qw_store *st, opts *o)
{
    int v = qw_schema_version(st);

    if (v < 0) {
        die_msg("cannot read the schema version: %s", st->err);
        return EXIT_RUNTIME;
    }
    printf("%d\n", v);
    if (v < QW_SCHEMA_VERSION) {
        fprintf(stderr, "qiweictl: this qiweictl needs version %d: run "
                "qiweictl migrate\n", QW_SCHEMA_VERSION);
    }
    return 0;
}

static int c_ent_add(qw_store *st, opts *o)
{
    int64_t id;
    qw_status rc = qw_enterprise_add(st, ARG(0), ARG(1), &id);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("enterprise %s added (id %s)\n", ARG(0), qw_i64(st->pool, id));
    return 0;
}

static int c_ent_list(qw_store *st, opts *o)
{
    apr_array_header_t *a;
    qw_status rc = qw_enterprise_list(st, &a);
    int i;

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < a->nelts; i++) {
        qw_enterprise *e = &APR_ARRAY_IDX(a, i, qw_enterprise);

        printf("%s\t%s\tsharing=%s\t%s\n", qw_i64(st->pool, e->id), e->code,
               e->allow_external_share ? "on" : "off", e->name);
    }
    return 0;
}

static int c_ent_sharing(qw_store *st, opts *o)
{
    const char *v = ARG(1);
    qw_status rc;
    int on;

    if (strcmp(v, "on") == 0) {
        on = 1;
    }
    else if (strcmp(v, "off") == 0) {
        on = 0;
    }
    else {
        return usage_error("set-sharing takes on or off, not '%s'", v);
    }
    if ((rc = qw_enterprise_set_external_share(st, ARG(0), on)) != QW_OK) {
        return fail(st, rc);
    }
    printf("external sharing for %s: %s\n", ARG(0), v);
    return 0;
}

static int c_ent_admin_two_step(qw_store *st, opts *o)
{
    const char *v = ARG(1);
    qw_settings s;
    qw_status rc;
    int changed;

    if (strcmp(v, "required") && strcmp(v, "optional")) {
        return usage_error("set-admin-two-step takes required or optional, "
                           "not '%s'", v);
    }
    qw_settings_leave(&s);
    s.admin_two_step = v;
    if ((rc = qw_settings_set(st, ARG(0), &s, NULL, &changed)) != QW_OK) {
        return fail(st, rc);
    }
    printf("admin two-step for %s: %s%s\n", ARG(0), v,
           changed ? "" : " (unchanged)");
    return 0;
}

static int c_dept_add(qw_store *st, opts *o)
{
    qw_status rc = qw_department_add(st, ARG(0), ARG(1), ARG(2),
                                     o->val[V_PARENT]);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("department %s added to %s%s%s\n", ARG(1), ARG(0),
           o->val[V_PARENT] ? " under " : "",
           o->val[V_PARENT] ? o->val[V_PARENT] : "");
    return 0;
}

static int c_dept_list(qw_store *st, opts *o)
{
    apr_array_header_t *a;
    qw_status rc = qw_department_list(st, ARG(0), &a);
    int i;

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < a->nelts; i++) {
        qw_department *d = &APR_ARRAY_IDX(a, i, qw_department);

        printf("%s\t%s\t%s\t%s\t%s\n", qw_i64(st->pool, d->id), d->code,
               dash(d->parent_code), d->path, d->name);
    }
    return 0;
}

static int c_role_add(qw_store *st, opts *o)
{
    qw_status rc = qw_role_add(st, ARG(0), ARG(1));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("role %s added to %s\n", ARG(1), ARG(0));
    return 0;
}

static int c_member_add(qw_store *st, opts *o)
{
    char *token = NULL;
    int64_t id;
    int ttl, r;
    qw_status rc;

    if (o->val[V_NAME] == NULL) {
        return usage_error("%s", "member add needs --name NAME");
    }
    if ((r = ttl_of(o, &ttl)) != 0) {
        return r;
    }
    rc = qw_member_add(st, ARG(0), ARG(1), o->val[V_NAME], o->val[V_MOBILE],
                       o->val[V_EMAIL], o->val[V_DEPT], ttl, &token, &id);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("member %s added to %s (id %s, status invited); the link is "
           "valid for %d hours\n", qw_ascii_lower(st->pool, ARG(1)), ARG(0),
           qw_i64(st->pool, id), ttl);
    r = print_link(o, st->pool, token);
    OPENSSL_cleanse(token, strlen(token));
    return r;
}

static int c_member_reinvite(qw_store *st, opts *o)
{
    char *token = NULL;
    int ttl, r;
    qw_status rc;

    if ((r = ttl_of(o, &ttl)) != 0) {
        return r;
    }
    rc = qw_member_reinvite(st, ARG(0), ARG(1), ttl, &token);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("new activation link for %s (earlier links no longer work); "
           "valid for %d hours\n", qw_ascii_lower(st->pool, ARG(1)), ttl);
    r = print_link(o, st->pool, token);
    OPENSSL_cleanse(token, strlen(token));
    return r;
}

static int c_member_list(qw_store *st, opts *o)
{
    apr_array_header_t *a;
    qw_status rc;
    int i;

    /* no keys loaded: list never shows mobile or e-mail */
    rc = qw_member_list(st, ARG(0), &a);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < a->nelts; i++) {
        qw_member *m = &APR_ARRAY_IDX(a, i, qw_member);

        printf("%s\t%s\t%s\t%s\t%s\t%s\n", qw_i64(st->pool, m->id),
               m->account, m->status, m->display_name, dash(m->departments),
               dash(m->roles));
    }
    return 0;
}

static int c_member_show(qw_store *st, opts *o)
{
    qw_member m;
    qw_status rc = qw_member_get(st, ARG(0), ARG(1), &m);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("id:          %s\n"
           "account:     %s\n"
           "name:        %s\n"
           "status:      %s\n"
           "mobile:      %s\n"
           "email:       %s\n"
           "departments: %s\n"
           "roles:       %s\n",
           qw_i64(st->pool, m.id), m.account, m.display_name, m.status,
           dash(m.mobile), dash(m.email), dash(m.departments),
           dash(m.roles));
    return 0;
}

static int c_member_set_password(qw_store *st, opts *o)
{
    char buf[QW_PW_MAX_LEN + 2];
    long n = read_password(buf, sizeof(buf) - 1);
    qw_status rc;

    if (n < 0) {
        return EXIT_USAGE;
    }
    rc = qw_member_set_password(st, ARG(0), ARG(1), buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("password of %s set; their sessions and unused activation links "
           "have ended\n", qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static int c_member_set_status(qw_store *st, opts *o)
{
    qw_status rc = qw_member_set_status(st, ARG(0), ARG(1), ARG(2));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("member %s is %s%s\n", qw_ascii_lower(st->pool, ARG(1)), ARG(2),
           strcmp(ARG(2), "active") ? "; all their sessions have ended" : "");
    return 0;
}

static int c_member_delete(qw_store *st, opts *o)
{
    qw_status rc;

    if (!(o->flags & O_YES)) {
        die_msg("deleting a member erases their data and cannot be undone; "
                "add --yes to confirm (or use set-status ... departed)");
        return EXIT_USAGE;
    }
    if ((rc = qw_member_delete(st, ARG(0), ARG(1))) != QW_OK) {
        return fail(st, rc);
    }
    printf("member %s deleted from %s\n", qw_ascii_lower(st->pool, ARG(1)),
           ARG(0));
    return 0;
}

static int c_member_move(qw_store *st, opts *o)
{
    qw_status rc = qw_member_move(st, ARG(0), ARG(1), ARG(2));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("member %s is now in %s\n", qw_ascii_lower(st->pool, ARG(1)),
           dash(ARG(2)));
    return 0;
}

static int c_member_grant(qw_store *st, opts *o)
{
    qw_status rc = qw_member_grant_role(st, ARG(0), ARG(1), ARG(2));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("role %s granted to %s\n", ARG(2),
           qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static int c_member_revoke(qw_store *st, opts *o)
{
    qw_status rc = qw_member_revoke_role(st, ARG(0), ARG(1), ARG(2));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("role %s revoked from %s\n", ARG(2),
           qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

/* Every problem on stdout ("seq N: ..."), the verdict on stderr (broken:
 * exit 1) or stdout (verified: exit 0). */
static int c_audit_verify(qw_store *st, opts *o)
{
    qw_audit_report rep;
    qw_status rc;
    int i, nargs = o->pos->nelts - c_words;
    int64_t head_seq = 0;
    const char *head_mac = NULL;

    if (nargs != 1 && nargs != 2) {
        return usage_error("usage: qiweictl audit verify ENT [SEQ:MAC]");
    }
    if (nargs == 2) {
        /* a head recorded earlier by 'audit head' */
        const char *h = ARG(1), *colon = strchr(h, ':');
        char *end;

        head_seq = colon ? apr_strtoi64(h, &end, 10) : 0;
        head_mac = colon ? colon + 1 : NULL;
        if (!colon || end != colon || head_seq < 1 || strlen(head_mac) != 64
            || strspn(head_mac, "0123456789abcdef") != 64) {
            return usage_error("the head must be SEQ:MAC as 'qiweictl audit "
                               "head' prints it, not '%s'", h);
        }
    }
    rc = qw_audit_verify(st, ARG(0), &rep);
    if (rc == QW_OK && head_mac) {
        rc = qw_audit_verify_head(st, ARG(0), head_seq, head_mac, &rep);
    }
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < rep.findings->nelts; i++) {
        qw_audit_finding *f = &APR_ARRAY_IDX(rep.findings, i,
                                             qw_audit_finding);

        printf("seq %s: %s\n", qw_i64(st->pool, f->seq), f->problem);
    }
    if (rep.problems > rep.findings->nelts) {
        printf("... and %ld more problems\n",
               rep.problems - (long)rep.findings->nelts);
    }
    fflush(stdout);
    if (rep.problems != 0) {
        die_msg("audit chain of %s is BROKEN: %ld problem%s in %s rows",
                ARG(0), rep.problems, rep.problems == 1 ? "" : "s",
                qw_i64(st->pool, rep.rows));
        return EXIT_RUNTIME;
    }
    if (rep.rows == 0) {
        printf("audit chain of %s verified: 0 rows\n", ARG(0));
    }
    else {
        printf("audit chain of %s verified: %s rows, seq 1 to %s\n", ARG(0),
               qw_i64(st->pool, rep.rows), qw_i64(st->pool, rep.last_seq));
    }
    return 0;
}

/* "ENT SEQ:MAC" of the newest row, to keep outside the database. */
static int c_audit_head(qw_store *st, opts *o)
{
    int64_t seq;
    const char *mac;
    qw_status rc = qw_audit_head(st, ARG(0), &seq, &mac);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("%s %s:%s\n", ARG(0), qw_i64(st->pool, seq), mac);
    return 0;
}

static int c_gc(qw_store *st, opts *o)
{
    long s, t, msgs, copies;
    qw_status rc = qw_store_gc(st, &s, &t);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("deleted %ld expired sessions and %ld used or expired activation "
           "tokens\n", s, t);
    /* expired mailbox messages: destroyed on time even when nobody reads
     * them (docs/mailbox.md, run gc every minute) */
    if ((rc = qw_mailbox_gc(st, &msgs, &copies)) != QW_OK) {
        return fail(st, rc);
    }
    printf("destroyed %ld expired mailbox messages (%ld copies)\n", msgs,
           copies);
    return 0;
}

/* --- articles --- */

#define DEFAULT_SHARE_BASE "http://127.0.0.1:8080"

static int audience_of(opts *o, qw_audience *a)
{
    memset(a, 0, sizeof(*a));
    a->all = (o->flags & O_ALL) != 0;
    a->departments = o->val[V_DEPT];
    a->roles = o->val[V_ROLE];
    a->members = o->val[V_MEMBER];
    return 0;
}

static int watermark_of(const char *v, int *wm)
{
    if (v == NULL || strcmp(v, "inherit") == 0) {
        *wm = QW_ARTICLE_WM_INHERIT;
    }
    else if (strcmp(v, "on") == 0) {
        *wm = 1;
    }
    else if (strcmp(v, "off") == 0) {
        *wm = 0;
    }
    else {
        return usage_error("watermark is on, off or inherit, not '%s'", v);
    }
    return 0;
}

static int on_off(const char *v, int *on)
{
    if (strcmp(v, "on") == 0) {
        *on = 1;
    }
    else if (strcmp(v, "off") == 0) {
        *on = 0;
    }
    else {
        return usage_error("expected on or off, not '%s'", v);
    }
    return 0;
}

static const char *aud_text(apr_pool_t *p, const qw_article *a)
{
    const char *s = a->audience_all ? "all members" : "";

    if (*a->departments) {
        s = apr_pstrcat(p, s, *s ? "; " : "", "departments ",
                        a->departments, NULL);
    }
    if (*a->roles) {
        s = apr_pstrcat(p, s, *s ? "; " : "", "roles ", a->roles, NULL);
    }
    if (*a->members) {
        s = apr_pstrcat(p, s, *s ? "; " : "", "members ", a->members, NULL);
    }
    return *s ? s : "(owner and named people only)";
}

static int c_article_add(qw_store *st, opts *o)
{
    qw_audience a;
    int64_t id;
    int wm, r;
    qw_status rc;

    if (o->val[V_TITLE] == NULL || o->val[V_OWNER] == NULL) {
        return usage_error("%s", "article add needs --title T and "
                           "--owner ACCOUNT");
    }
    if ((r = watermark_of(o->val[V_WM], &wm)) != 0) {
        return r;
    }
    audience_of(o, &a);
    rc = qw_article_add(st, ARG(0), ARG(1), ARG(2), o->val[V_TITLE],
                        o->val[V_OWNER], &a, (o->flags & O_CONF) != 0, wm,
                        &id);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("%s article %s added to %s (id %s)\n", ARG(1), ARG(2), ARG(0),
           qw_i64(st->pool, id));
    return 0;
}

static int c_article_audience(qw_store *st, opts *o)
{
    qw_audience a;
    qw_status rc;

    audience_of(o, &a);
    rc = qw_article_set_audience(st, ARG(0), ARG(1), ARG(2), &a);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("audience of %s set\n", ARG(2));
    return 0;
}

static int c_article_people(qw_store *st, opts *o)
{
    qw_status rc = qw_article_set_people(st, ARG(0), ARG(1), ARG(2),
                                         o->val[V_RESP], o->val[V_RELATED]);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("responsible and related people of %s set\n", ARG(2));
    return 0;
}

/* Read all of FILE ('-': stdin), at most max bytes. */
static int read_file(apr_pool_t *p, const char *name, size_t max,
                     unsigned char **out, size_t *len)
{
    FILE *f = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
    size_t cap = 65536, n = 0;
    unsigned char *b;

    if (f == NULL) {
        die_msg("cannot open %s: %s", name, strerror(errno));
        return EXIT_RUNTIME;
    }
    b = malloc(cap);
    while (b != NULL) {
        size_t got = fread(b + n, 1, cap - n, f);

        n += got;
        if (n > max) {
            free(b);
            if (f != stdin) {
                fclose(f);
            }
            die_msg("%s is too large (at most %lu bytes)", name,
                    (unsigned long)max);
            return EXIT_USAGE;
        }
        if (got == 0) {
            break;
        }
        if (n == cap) {
            unsigned char *nb = realloc(b, cap * 2);

            if (nb == NULL) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (b == NULL || ferror(f)) {
        free(b);
        if (f != stdin) {
            fclose(f);
        }
        die_msg("cannot read %s", name);
        return EXIT_RUNTIME;
    }
    if (f != stdin) {
        fclose(f);
    }
    *out = apr_pmemdup(p, b, n ? n : 1);
    *len = n;
    free(b);
    return 0;
}

static int c_article_body(qw_store *st, opts *o)
{
    unsigned char *b;
    size_t n;
    qw_status rc;
    int r;

    if ((r = read_file(st->pool, ARG(3), QW_ENV_MAX_BODY, &b, &n)) != 0) {
        return r;
    }
    rc = qw_article_set_body(st, ARG(0), ARG(1), ARG(2), b, n,
                             o->val[V_TYPE]);
    OPENSSL_cleanse(b, n);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("body of %s stored encrypted (%lu bytes)\n", ARG(2),
           (unsigned long)n);
    return 0;
}

static int c_article_cat(qw_store *st, opts *o)
{
    unsigned char *b;
    size_t n;
    const char *ct;
    qw_status rc = qw_article_get_body(st, ARG(0), ARG(1), ARG(2), &b, &n,
                                       &ct);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    fwrite(b, 1, n, stdout);
    OPENSSL_cleanse(b, n);
    return 0;
}

static int c_article_confidential(qw_store *st, opts *o)
{
    int on = 0, r;
    qw_status rc;

    if ((r = on_off(ARG(3), &on)) != 0) {
        return r;
    }
    rc = qw_article_set_confidential(st, ARG(0), ARG(1), ARG(2), on);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("%s is %sconfidential%s\n", ARG(2), on ? "" : "not ",
           on ? ": every read is logged" : "");
    return 0;
}

static int c_article_watermark(qw_store *st, opts *o)
{
    int wm, r;
    qw_status rc;

    if ((r = watermark_of(ARG(3), &wm)) != 0) {
        return r;
    }
    rc = qw_article_set_watermark(st, ARG(0), ARG(1), ARG(2), wm);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("watermark of %s: %s\n", ARG(2), ARG(3));
    return 0;
}

static int c_article_share(qw_store *st, opts *o)
{
    const char *v = ARG(3);
    qw_status rc;

    if (strcmp(v, "revoke") == 0) {
        rc = qw_article_revoke_links(st, ARG(0), ARG(1), ARG(2));
    }
    else if (strcmp(v, "on") == 0 || strcmp(v, "off") == 0) {
        rc = qw_article_set_share(st, ARG(0), ARG(1), ARG(2),
                                  strcmp(v, "on") == 0);
    }
    else {
        return usage_error("share takes on, off or revoke, not '%s'", v);
    }
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    if (strcmp(v, "on") == 0) {
        printf("external sharing of %s: on (make links with article "
               "link)\n", ARG(2));
    }
    else {
        printf("external sharing of %s: %s; every link made so far is "
               "revoked\n", ARG(2), strcmp(v, "off") == 0 ? "off" : "on");
    }
    return 0;
}

/* Percent-encode a path for a URL, keeping '/' and unreserved bytes. */
static const char *url_path(apr_pool_t *p, const char *s)
{
    static const char hx[] = "0123456789ABCDEF";
    char *o = apr_palloc(p, strlen(s) * 3 + 1), *w = o;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || strchr("/-._~", c)) {
            *w++ = (char)c;
        }
        else {
            *w++ = '%';
            *w++ = hx[c >> 4];
            *w++ = hx[c & 15];
        }
    }
    *w = '\0';
    return o;
}

static int c_article_link(qw_store *st, opts *o)
{
    const char *base = o->val[V_BASEURL] ? o->val[V_BASEURL]
                                         : DEFAULT_SHARE_BASE;
    long ttl = 0;
    char *token = NULL;
    uint64_t link;
    int master;
    size_t bl = strlen(base);
    qw_status rc;

    if (o->val[V_EXPIRES]
        && (ttl = parse_num(o->val[V_EXPIRES], 1, 10L * 366 * 86400)) < 0) {
        return usage_error("--expires is a number of seconds (1 to ten "
                           "years), not '%s'", o->val[V_EXPIRES]);
    }
    rc = qw_article_share_link(st, ARG(0), ARG(1), ARG(2), ttl, &token,
                               &link, &master);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    while (bl > 0 && base[bl - 1] == '/') {
        bl--;
    }
    printf("share link: %.*s%s?qs=%s\n", (int)bl, base,
           url_path(st->pool, ARG(2)), token);
    printf("link id: %s%s\n", qw_share_link_hex(st->pool, link),
           ttl ? apr_psprintf(st->pool, " (expires in %ld s)", ttl) : "");
    OPENSSL_cleanse(token, strlen(token));
    if (!master) {
        fprintf(stderr, "qiweictl: warning: %s does not allow external "
                "sharing (enterprise set-sharing %s on): the link works "
                "only once it does\n", ARG(0), ARG(0));
    }
    return 0;
}

/* article links ENT MODULE PATH: the live links (sql/018), newest first */
static int c_article_links(qw_store *st, opts *o)
{
    apr_array_header_t *arr;
    qw_article a;
    qw_status rc = qw_article_get(st, ARG(0), ARG(1), ARG(2), &a);
    int i;

    if (rc != QW_OK || (rc = qw_article_links(st, ARG(0), a.id, 1000, 0,
                                              &arr)) != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < arr->nelts; i++) {
        const qw_share_link_row *w = &APR_ARRAY_IDX(arr, i,
                                                    qw_share_link_row);
        printf("%s  made %s by %s  expires %s\n", w->link_id,
               w->created_at, w->created_by,
               w->expires_at ? w->expires_at : "never");
    }
    if (arr->nelts == 0) {
        printf("no live share link for %s\n", ARG(2));
    }
    return 0;
}

/* article unlink ENT MODULE PATH LINK_ID: revoke that one link */
static int c_article_unlink(qw_store *st, opts *o)
{
    int already = 0;
    qw_status rc = qw_article_revoke_link(st, ARG(0), ARG(1), ARG(2), ARG(3),
                                          &already);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("share link %s of %s: revoked%s\n", ARG(3), ARG(2),
           already ? " (already)" : "");
    return 0;
}

static int c_article_show(qw_store *st, opts *o)
{
    qw_article a;
    qw_status rc = qw_article_get(st, ARG(0), ARG(1), ARG(2), &a);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("id:           %s\n"
           "module:       %s\n"
           "path:         %s\n"
           "title:        %s\n"
           "owner:        %s\n"
           "audience:     %s\n"
           "responsible:  %s\n"
           "related:      %s\n"
           "confidential: %s\n"
           "sharing:      %s%s (version %d)\n"
           "watermark:    %s\n"
           "body:         %s\n"
           "updated:      %s\n",
           qw_i64(st->pool, a.id), a.module, a.path, a.title,
           a.owner ? a.owner : "(deleted)", aud_text(st->pool, &a),
           dash(a.responsible), dash(a.related),
           a.confidential ? "yes" : "no", a.share_enabled ? "on" : "off",
           a.share_enabled && !a.share_effective
               ? " (but the enterprise does not allow sharing)" : "",
           a.share_version,
           a.watermark < 0 ? "inherit" : a.watermark ? "on" : "off",
           a.body_type ? apr_psprintf(st->pool, "%s, %s bytes encrypted "
                                      "under key %d", a.body_type,
                                      qw_i64(st->pool, a.body_bytes),
                                      a.dek_kid)
                       : "-",
           a.updated_at);
    return 0;
}

static int c_article_list(qw_store *st, opts *o)
{
    apr_array_header_t *arr;
    qw_status rc = qw_article_list(st, ARG(0), NULL, &arr);
    int i;

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < arr->nelts; i++) {
        qw_article *a = &APR_ARRAY_IDX(arr, i, qw_article);

        printf("%s\t%s\t%s\t%s%s%s\t%s\n", qw_i64(st->pool, a->id),
               a->module, a->path, a->confidential ? "confidential " : "",
               a->share_enabled ? "shared " : "",
               a->body_type ? "stored" : "-", a->title);
    }
    return 0;
}

static int c_article_delete(qw_store *st, opts *o)
{
    qw_status rc;

    if (!(o->flags & O_YES)) {
        die_msg("deleting an article cannot be undone; add --yes");
        return EXIT_USAGE;
    }
    if ((rc = qw_article_delete(st, ARG(0), ARG(1), ARG(2))) != QW_OK) {
        return fail(st, rc);
    }
    printf("%s article %s deleted from %s\n", ARG(1), ARG(2), ARG(0));
    return 0;
}

static int c_keys_rewrap(qw_store *st, opts *o)
{
    long n, m = 0;
    qw_status rc = qw_article_rewrap_all(st, &n);

    if (rc == QW_OK) {
        /* the mailbox's copies (docs/mailbox.md) the same way */
        rc = qw_mailbox_rewrap_all(st, &m);
    }
    if (rc != QW_OK) {
        if (n + m > 0) {
            fprintf(stderr, "qiweictl: %ld data keys were re-wrapped "
                    "before the error\n", n + m);
        }
        return fail(st, rc);
    }
    printf("re-wrapped %ld article data keys to key %u\n", n,
           (unsigned)qw_keyring_current(st->keys));
    if (m > 0) {
        printf("re-wrapped %ld mailbox data keys to key %u\n", m,
               (unsigned)qw_keyring_current(st->keys));
    }
    return 0;
}

/* ---- admin accounts, roles and the operation log (issue 5) ---- */

static int c_admin_add(qw_store *st, opts *o)
{
    int64_t id;
    qw_status rc = qw_admin_add(st, ARG(0), ARG(1), NULL, 0,
                                (o->flags & O_SUPER) != 0, o->val[V_BIND],
                                &id);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin %s added to %s (id %s)%s%s; set its password with "
           "'admin set-password'\n", qw_ascii_lower(st->pool, ARG(1)),
           ARG(0), qw_i64(st->pool, id),
           (o->flags & O_SUPER) ? ", super admin" : "",
           o->val[V_BIND] ? ", bound to a member" : "");
    return 0;
}

static int c_admin_set_password(qw_store *st, opts *o)
{
    char buf[QW_PW_MAX_LEN + 2];
    long n = read_password(buf, sizeof(buf) - 1);
    qw_status rc;

    if (n < 0) {
        return EXIT_USAGE;
    }
    rc = qw_admin_set_password(st, ARG(0), ARG(1), buf, (size_t)n);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("password of admin %s set; its sessions have ended\n",
           qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static int c_admin_set_status(qw_store *st, opts *o)
{
    qw_status rc = qw_admin_set_status(st, ARG(0), ARG(1), ARG(2));

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin %s is %s\n", qw_ascii_lower(st->pool, ARG(1)), ARG(2));
    return 0;
}

static int bind_to(qw_store *st, opts *o, const char *member)
{
    int changed;
    qw_status rc = qw_admin_bind(st, ARG(0), ARG(1), member, &changed);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin %s: %s%s\n", qw_ascii_lower(st->pool, ARG(1)),
           member ? "logins remind a member" : "bound to no member",
           changed ? "" : " (unchanged)");
    return 0;
}

static int c_admin_bind(qw_store *st, opts *o)
{
    return bind_to(st, o, ARG(2));
}

static int c_admin_unbind(qw_store *st, opts *o)
{
    return bind_to(st, o, NULL);
}

static int c_admin_delete(qw_store *st, opts *o)
{
    qw_status rc;

    if (!(o->flags & O_YES)) {
        die_msg("add --yes to delete admin account %s", ARG(1));
        return EXIT_USAGE;
    }
    if ((rc = qw_admin_delete(st, ARG(0), ARG(1))) != QW_OK) {
        return fail(st, rc);
    }
    printf("admin %s deleted\n", qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static int c_admin_unlock(qw_store *st, opts *o)
{
    int n = 0;
    qw_status rc = qw_admin_unlock(st, ARG(0), ARG(1), &n);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin %s unlocked (%d counter%s cleared)\n",
           qw_ascii_lower(st->pool, ARG(1)), n, n == 1 ? "" : "s");
    return 0;
}

static int c_admin_list(qw_store *st, opts *o)
{
    apr_array_header_t *a;
    qw_status rc = qw_admin_list(st, ARG(0), &a);
    int i;

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < a->nelts; i++) {
        qw_admin *ad = &APR_ARRAY_IDX(a, i, qw_admin);
        printf("%s\t%s\t%s\tbound=%s\troles=%s\tmodules=%s\n", ad->account,
               ad->is_super ? "super" : "admin", ad->status,
               dash(ad->bound_member), dash(ad->roles), dash(ad->modules));
    }
    return 0;
}

/* admin role add|delete|list ENT [NAME [MODULES]] */
static int c_admin_role(qw_store *st, opts *o)
{
    const char *verb = ARG(0);
    int have = o->pos->nelts - c_words;
    qw_status rc;
    int created = 0;

    if (verb && !strcmp(verb, "add") && have == 4) {
        rc = qw_admin_role_put(st, ARG(1), ARG(2), ARG(3), &created);
        if (rc != QW_OK) {
            return fail(st, rc);
        }
        printf("admin role %s %s\n", ARG(2), created ? "added" : "set");
        return 0;
    }
    if (verb && !strcmp(verb, "delete") && have == 3) {
        if ((rc = qw_admin_role_delete(st, ARG(1), ARG(2))) != QW_OK) {
            return fail(st, rc);
        }
        printf("admin role %s deleted\n", ARG(2));
        return 0;
    }
    if (verb && !strcmp(verb, "list") && have == 2) {
        apr_array_header_t *a;
        int i;
        if ((rc = qw_admin_role_list(st, ARG(1), &a)) != QW_OK) {
            return fail(st, rc);
        }
        for (i = 0; i < a->nelts; i++) {
            qw_admin_role *r = &APR_ARRAY_IDX(a, i, qw_admin_role);
            printf("%s\t%s\n", r->name, dash(r->modules));
        }
        return 0;
    }
    return usage_error("admin role add ENT NAME MODULES | admin role delete "
                       "ENT NAME | admin role list ENT");
}

static int c_admin_grant(qw_store *st, opts *o)
{
    int changed;
    qw_status rc = qw_admin_grant(st, ARG(0), ARG(1), ARG(2), &changed);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin role %s %sgranted to %s\n", ARG(2),
           changed ? "" : "was already ", qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static int c_admin_revoke(qw_store *st, opts *o)
{
    int changed;
    qw_status rc = qw_admin_revoke(st, ARG(0), ARG(1), ARG(2), &changed);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("admin role %s %srevoked from %s\n", ARG(2),
           changed ? "" : "was not held, nothing ",
           qw_ascii_lower(st->pool, ARG(1)));
    return 0;
}

static void audit_filter_of(opts *o, qw_audit_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->from = o->val[V_FROM];
    f->to = o->val[V_TO];
    f->operator_ = o->val[V_OPERATOR];
    f->module = o->val[V_MODULE];
}

static int c_audit_list(qw_store *st, opts *o)
{
    apr_array_header_t *rows;
    qw_audit_filter f;
    qw_status rc;
    int i, forged = 0;

    audit_filter_of(o, &f);
    f.limit = 100000;
    if ((rc = qw_audit_list(st, ARG(0), &f, &rows)) != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < rows->nelts; i++) {
        qw_audit_row *w = &APR_ARRAY_IDX(rows, i, qw_audit_row);

        /* seq < 1 is never written by mod_qiwei (and refused by the schema
         * since version 10): such a row is marked, not shown as genuine */
        if (w->seq < 1) {
            forged++;
        }
        printf("%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
               qw_i64(st->pool, w->seq), w->seq < 1 ? "!" : "", w->at,
               w->actor, w->module, w->action, dash(w->object), w->result,
               dash(w->reason), dash(w->source_ip), dash(w->details));
    }
    if (forged) {
        fflush(stdout);
        die_msg("%d row%s marked '!' (seq < 1) %s not part of the chain: "
                "run audit verify", forged, forged == 1 ? "" : "s",
                forged == 1 ? "is" : "are");
    }
    return 0;
}

static int export_sink(void *baton, const char *data, size_t len)
{
    return fwrite(data, 1, len, baton) == len ? 0 : -1;
}

static int c_audit_export(qw_store *st, opts *o)
{
    qw_audit_filter f;
    qw_status rc;
    long n = 0;

    audit_filter_of(o, &f);
    rc = qw_audit_export(st, ARG(0), &f, export_sink, stdout, &n);
    if (fflush(stdout) != 0 && rc == QW_OK) {
        die_msg("cannot write the export");
    }
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    fprintf(stderr, "qiweictl: exported %ld rows (the export is logged)\n",
            n);
    return 0;
}

/* --- mailbox --- */

static const qw_mail_sender operator_sender = { "operator", 0, 0 };

/* "ENT" -> id, or a message and an exit status. */
static int ent_id(qw_store *st, const char *ent, int64_t *eid)
{
    qw_status rc;

    *eid = qw_store_enterprise_id(st, ent, &rc);
    return *eid < 0 ? fail(st, rc) : 0;
}

static int member_id_of(qw_store *st, const char *ent, const char *account,
                        int64_t *mid)
{
    qw_member m;
    qw_status rc = qw_member_get(st, ent, account, &m);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    *mid = m.id;
    return 0;
}

static int parse_id(const char *s, int64_t *id)
{
    char *end;

    *id = apr_strtoi64(s, &end, 10);
    if (*s == '\0' || *end != '\0' || *id <= 0) {
        return usage_error("'%s' is not a message id", s);
    }
    return 0;
}

static int c_mailbox_send(qw_store *st, opts *o)
{
    const char *rule = o->val[V_RULE], *colon, *exp = o->val[V_EXPIRES];
    unsigned char *body;
    size_t len;
    qw_mail_new m;
    int64_t eid, id;
    int r, n;
    qw_status rc;

    if (o->val[V_TITLE] == NULL || rule == NULL) {
        return usage_error("%s", "mailbox send needs --title and --rule");
    }
    memset(&m, 0, sizeof(m));
    m.title = o->val[V_TITLE];
    colon = strchr(rule, ':');
    m.rule = colon ? apr_pstrndup(st->pool, rule, (apr_size_t)(colon - rule))
             : rule;
    if (colon) {
        long mins = parse_num(colon + 1, 1, QW_MAIL_OPEN_MINUTES_MAX);

        if (strcmp(m.rule, "read_once") != 0 || mins < 0) {
            return usage_error("--rule read_once:MINUTES takes 1 to %d "
                               "minutes", QW_MAIL_OPEN_MINUTES_MAX);
        }
        m.open_minutes = (int)mins;
    }
    if (exp) {
        /* digits: seconds from now; anything else: a time */
        if (exp[strspn(exp, "0123456789")] == '\0') {
            m.expires_in = parse_num(exp, 1, 10L * 365 * 86400);
            if (m.expires_in < 0) {
                return usage_error("--expires %s: 1 second to 10 years",
                                   exp);
            }
        }
        else {
            m.expires_at = exp;
        }
    }
    m.confidential = (o->flags & O_CONF) != 0;
    m.to.all = (o->flags & O_ALL) != 0;
    m.to.members = o->val[V_TO] && o->val[V_MEMBER]
                   ? apr_pstrcat(st->pool, o->val[V_TO], ",",
                                 o->val[V_MEMBER], NULL)
                   : o->val[V_TO] ? o->val[V_TO] : o->val[V_MEMBER];
    m.to.departments = o->val[V_DEPT];
    m.to.roles = o->val[V_ROLE];
    if ((r = read_file(st->pool, "-", QW_MAIL_MAX_BODY, &body, &len)) != 0) {
        return r;
    }
    m.body = (const char *)body;
    m.len = len;
    if ((r = ent_id(st, ARG(0), &eid)) != 0) {
        return r;
    }
    rc = qw_mailbox_send(st, eid, &operator_sender, &m, &id, &n);
    OPENSSL_cleanse(body, len);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("message %s sent to %d member(s)\n", qw_i64(st->pool, id), n);
    return 0;
}

static void print_item(qw_store *st, const qw_mail_item *it)
{
    printf("%s\t%s\t%s\t%s\t%s\t%s\n", qw_i64(st->pool, it->id),
           it->created_at, it->rule, it->state,
           it->sender ? it->sender : "-", it->title);
}

static int c_mailbox_list(qw_store *st, opts *o)
{
    apr_array_header_t *items;
    int64_t eid, mid = 0;
    qw_status rc;
    int r, i;

    if ((r = ent_id(st, ARG(0), &eid)) != 0
        || (r = member_id_of(st, ARG(0), ARG(1), &mid)) != 0) {
        return r;
    }
    if ((rc = qw_mailbox_list(st, eid, mid, 0, 0, &items)) != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < items->nelts; i++) {
        print_item(st, &APR_ARRAY_IDX(items, i, qw_mail_item));
    }
    return 0;
}

static int c_mailbox_sent(qw_store *st, opts *o)
{
    apr_array_header_t *items;
    int64_t eid;
    qw_status rc;
    int r, i;

    if ((r = ent_id(st, ARG(0), &eid)) != 0) {
        return r;
    }
    if ((rc = qw_mailbox_sent(st, eid, &operator_sender, 0, 0, &items))
        != QW_OK) {
        return fail(st, rc);
    }
    for (i = 0; i < items->nelts; i++) {
        const qw_mail_item *it = &APR_ARRAY_IDX(items, i, qw_mail_item);

        printf("%s\t%s\t%s\t%s\trecipients %d, read %d, destroyed %d\t%s\n",
               qw_i64(st->pool, it->id), it->created_at, it->rule, it->state,
               it->recipients, it->read, it->destroyed, it->title);
    }
    return 0;
}

static int c_mailbox_receipts(qw_store *st, opts *o)
{
    apr_array_header_t *rs;
    qw_mail_item msg;
    int64_t eid, id;
    qw_status rc;
    int r, i;

    if ((r = parse_id(ARG(1), &id)) != 0 || (r = ent_id(st, ARG(0), &eid))
        != 0) {
        return r;
    }
    rc = qw_mailbox_receipts(st, eid, &operator_sender, id, &msg, &rs);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("message %s (%s, %s): %s\n", ARG(1), msg.rule, msg.state,
           msg.title);
    for (i = 0; i < rs->nelts; i++) {
        const qw_mail_receipt *x = &APR_ARRAY_IDX(rs, i, qw_mail_receipt);

        printf("%s\t%s\tdelivered %s\tread %s\tdestroyed %s%s%s%s%s\n",
               x->account ? x->account : "-", x->state, x->delivered_at,
               x->read_at ? x->read_at : "-",
               x->destroyed_at ? x->destroyed_at : "-",
               x->destroy_reason ? " (" : "",
               x->destroy_reason ? x->destroy_reason : "",
               x->destroyed_by ? " by " : "",
               x->destroyed_by ? apr_pstrcat(st->pool, x->destroyed_by, ")",
                                             NULL)
               : x->destroy_reason ? ")" : "");
    }
    return 0;
}

static int c_mailbox_destroy(qw_store *st, opts *o)
{
    int64_t eid, id;
    long n;
    qw_status rc;
    int r;

    if (!(o->flags & O_YES)) {
        return usage_error("%s", "mailbox destroy cannot be undone: add "
                           "--yes");
    }
    if ((r = parse_id(ARG(1), &id)) != 0 || (r = ent_id(st, ARG(0), &eid))
        != 0) {
        return r;
    }
    rc = qw_mailbox_destroy_message(st, eid, &operator_sender, id, &n);
    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("message %s destroyed for everyone (%ld copies)\n", ARG(1), n);
    return 0;
}

static int c_mailbox_wipe(qw_store *st, opts *o)
{
    int64_t eid, mid = 0;
    long n;
    qw_status rc;
    int r;

    if (!(o->flags & O_YES)) {
        return usage_error("%s", "mailbox wipe cannot be undone: add --yes");
    }
    if ((r = ent_id(st, ARG(0), &eid)) != 0
        || (r = member_id_of(st, ARG(0), ARG(1), &mid)) != 0) {
        return r;
    }
    if ((rc = qw_mailbox_wipe(st, eid, mid, &n)) != QW_OK) {
        return fail(st, rc);
    }
    printf("mailbox of %s wiped (%ld copies destroyed), sessions ended\n",
           ARG(1), n);
    return 0;
}

static const cmd cmds[] = {
    { NULL, "migrate", 0, O_SQLDIR | O_APPROLE, 0, 0, c_migrate,
      "migrate [--sql-dir DIR] [--app-role ROLE]" },
    { NULL, "schema-version", 0, 0, 0, 0, c_schema_version,
      "schema-version" },
    { "enterprise", "add", 2, 0, 1, 1, c_ent_add, "enterprise add CODE NAME" },
    { "enterprise", "list", 0, 0, 0, 1, c_ent_list, "enterprise list" },
    { "enterprise", "set-sharing", 2, 0, 1, 1, c_ent_sharing,
      "enterprise set-sharing CODE on|off" },
    { "enterprise", "set-admin-two-step", 2, 0, 1, 1, c_ent_admin_two_step,
      "enterprise set-admin-two-step CODE required|optional" },
    { "dept", "add", 3, O_PARENT, 1, 1, c_dept_add,
      "dept add ENT CODE NAME [--parent CODE]" },
    { "dept", "list", 1, 0, 0, 1, c_dept_list, "dept list ENT" },
    { "role", "add", 2, 0, 1, 1, c_role_add, "role add ENT NAME" },
    { "member", "add", 2,
      O_NAME | O_MOBILE | O_EMAIL | O_DEPT | O_URL | O_TTL | O_QR, 1, 1,
      c_member_add, "member add ENT ACCOUNT --name NAME [--mobile M] "
      "[--email E] [--dept CODES] [--activate-url URL] [--ttl HOURS] [--qr]" },
    { "member", "reinvite", 2, O_URL | O_TTL | O_QR, 1, 1, c_member_reinvite,
      "member reinvite ENT ACCOUNT [--activate-url URL] [--ttl HOURS] [--qr]"},
    { "member", "list", 1, 0, 0, 1, c_member_list, "member list ENT" },
    { "member", "show", 2, 0, 1, 1, c_member_show, "member show ENT ACCOUNT" },
    { "member", "set-password", 2, 0, 1, 1, c_member_set_password,
      "member set-password ENT ACCOUNT  (password on stdin)" },
    { "member", "set-status", 3, 0, 1, 1, c_member_set_status,
      "member set-status ENT ACCOUNT active|disabled|departed" },
    { "member", "delete", 2, O_YES, 1, 1, c_member_delete,
      "member delete ENT ACCOUNT --yes" },
    { "member", "move", 3, 0, 1, 1, c_member_move,
      "member move ENT ACCOUNT DEPT[,DEPT...]" },
    { "member", "grant-role", 3, 0, 1, 1, c_member_grant,
      "member grant-role ENT ACCOUNT ROLE" },
    { "member", "revoke-role", 3, 0, 1, 1, c_member_revoke,
      "member revoke-role ENT ACCOUNT ROLE" },
    { "audit", "verify", -1, 0, 1, 1, c_audit_verify,
      "audit verify ENT [SEQ:MAC]" },
    { "audit", "head", 1, 0, 0, 1, c_audit_head, "audit head ENT" },
    { "audit", "list", 1, O_FROM | O_TO | O_OPERATOR | O_MODULE, 0, 1,
      c_audit_list, "audit list ENT [--from T] [--to T] [--operator A] "
      "[--module M]" },
    { "audit", "export", 1, O_FROM | O_TO | O_OPERATOR | O_MODULE, 1, 1,
      c_audit_export, "audit export ENT [--from T] [--to T] [--operator A] "
      "[--module M]" },
    { "admin", "add", 2, O_SUPER | O_BIND, 1, 1, c_admin_add,
      "admin add ENT ACCOUNT [--super] [--bind MEMBER]" },
    { "admin", "set-password", 2, 0, 1, 1, c_admin_set_password,
      "admin set-password ENT ACCOUNT" },
    { "admin", "set-status", 3, 0, 1, 1, c_admin_set_status,
      "admin set-status ENT ACCOUNT active|disabled" },
    { "admin", "bind", 3, 0, 1, 1, c_admin_bind,
      "admin bind ENT ACCOUNT MEMBER" },
    { "admin", "unbind", 2, 0, 1, 1, c_admin_unbind,
      "admin unbind ENT ACCOUNT" },
    { "admin", "delete", 2, O_YES, 1, 1, c_admin_delete,
      "admin delete ENT ACCOUNT --yes" },
    { "admin", "unlock", 2, 0, 1, 1, c_admin_unlock,
      "admin unlock ENT ACCOUNT" },
    { "admin", "list", 1, 0, 0, 1, c_admin_list, "admin list ENT" },
    { "admin", "role", -1, 0, 1, 1, c_admin_role,
      "admin role add ENT NAME MODULES | admin role delete ENT NAME | "
      "admin role list ENT" },
    { "admin", "grant", 3, 0, 1, 1, c_admin_grant,
      "admin grant ENT ACCOUNT ROLE" },
    { "admin", "revoke", 3, 0, 1, 1, c_admin_revoke,
      "admin revoke ENT ACCOUNT ROLE" },
    { NULL, "gc", 0, 0, 1, 1, c_gc, "gc" },
    { "mailbox", "send", 1, O_TITLE | O_RULE | O_EXPIRES | O_CONF | O_ALL
      | O_TO | O_MEMBER | O_DEPT | O_ROLE, 1, 1, c_mailbox_send,
      "mailbox send ENT --title T --rule read_once[:MINUTES]|expires_at|kept"
      " [--expires SECONDS|TIME] [--confidential] [--all] [--to ACCOUNTS] "
      "[--member ACCOUNTS] [--dept CODES] [--role NAMES]  (body on stdin)" },
    { "mailbox", "list", 2, 0, 1, 1, c_mailbox_list,
      "mailbox list ENT ACCOUNT" },
    { "mailbox", "sent", 1, 0, 1, 1, c_mailbox_sent, "mailbox sent ENT" },
    { "mailbox", "receipts", 2, 0, 1, 1, c_mailbox_receipts,
      "mailbox receipts ENT ID" },
    { "mailbox", "destroy", 2, O_YES, 1, 1, c_mailbox_destroy,
      "mailbox destroy ENT ID --yes" },
    { "mailbox", "wipe", 2, O_YES, 1, 1, c_mailbox_wipe,
      "mailbox wipe ENT ACCOUNT --yes" },
    { "article", "add", 3, O_TITLE | O_OWNER | O_ALL | O_DEPT | O_ROLE
      | O_MEMBER | O_CONF | O_WM, 1, 1, c_article_add,
      "article add ENT MODULE PATH --title T --owner ACCOUNT [--all] "
      "[--dept CODES] [--role NAMES] [--member ACCOUNTS] [--confidential] "
      "[--watermark on|off|inherit]" },
    { "article", "audience", 3, O_ALL | O_DEPT | O_ROLE | O_MEMBER, 1, 1,
      c_article_audience, "article audience ENT MODULE PATH [--all] "
      "[--dept CODES] [--role NAMES] [--member ACCOUNTS]" },
    { "article", "people", 3, O_RESP | O_RELATED, 1, 1, c_article_people,
      "article people ENT MODULE PATH [--responsible ACCOUNTS] "
      "[--related ACCOUNTS]" },
    { "article", "body", 4, O_TYPE, 1, 1, c_article_body,
      "article body ENT MODULE PATH FILE|- [--type CONTENT-TYPE]" },
    { "article", "cat", 3, 0, 1, 1, c_article_cat,
      "article cat ENT MODULE PATH" },
    { "article", "confidential", 4, 0, 1, 1, c_article_confidential,
      "article confidential ENT MODULE PATH on|off" },
    { "article", "watermark", 4, 0, 1, 1, c_article_watermark,
      "article watermark ENT MODULE PATH on|off|inherit" },
    { "article", "share", 4, 0, 1, 1, c_article_share,
      "article share ENT MODULE PATH on|off|revoke" },
    { "article", "link", 3, O_EXPIRES | O_BASEURL, 1, 1, c_article_link,
      "article link ENT MODULE PATH [--expires SECONDS] [--base-url URL]" },
    { "article", "links", 3, 0, 0, 1, c_article_links,
      "article links ENT MODULE PATH" },
    { "article", "unlink", 4, 0, 1, 1, c_article_unlink,
      "article unlink ENT MODULE PATH LINK_ID" },
    { "article", "show", 3, 0, 0, 1, c_article_show,
      "article show ENT MODULE PATH" },
    { "article", "list", 1, 0, 0, 1, c_article_list, "article list ENT" },
    { "article", "delete", 3, O_YES, 1, 1, c_article_delete,
      "article delete ENT MODULE PATH --yes" },
    { "keys", "rewrap", 0, 0, 1, 1, c_keys_rewrap, "keys rewrap" },
    { NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};

/* Commands that only read: no barrier after them. */
static int reads_only(const cmd *c)
{
    static const cmd_fn readers[] = {
        c_schema_version, c_ent_list, c_dept_list, c_member_list,
        c_member_show, c_audit_verify, c_audit_head, c_audit_list,
        c_audit_export,
        c_article_cat, c_article_show, c_article_list, c_admin_list,
        c_article_links,
        c_article_link, c_migrate, c_mailbox_list, c_mailbox_sent,
        c_mailbox_receipts, NULL
    };
    int i;

    for (i = 0; readers[i]; i++) {
        if (c->fn == readers[i]) {
            return 1;
        }
    }
    return 0;
}

/* After a change has committed: wait until no mod_qiwei node can still
 * serve a cached decision from before it (store.h, qw_revocation_barrier).
 * 0, or EXIT_UNCONFIRMED with the reason on stderr. */
static int barrier(qw_store *st, long wait_ms)
{
    qw_barrier b;
    qw_status rc = qw_revocation_barrier(st, wait_ms, &b);

    if (rc != QW_OK) {
        die_msg("the change is committed, but whether every mod_qiwei node "
                "has applied it is not known: %s", st->err);
        return EXIT_UNCONFIRMED;
    }
    if (!b.confirmed) {
        die_msg("the change is committed, but %d of %d mod_qiwei cache "
                "listener(s) did not confirm it within %ld ms: %s; they "
                "stop serving from their caches at most %d ms after the "
                "change", b.listeners - b.acked - b.expired, b.listeners,
                wait_ms, b.pending,
                QW_CACHE_HEALTHY_WITHIN_MS + QW_BARRIER_SLACK_MS);
        return EXIT_UNCONFIRMED;
    }
    return 0;
}

static int run(const cmd *c, opts *o, apr_pool_t *p)
{
    qw_store st;
    const char *dsn, *keyfile, *dberr = NULL;
    qw_keyring *keys = NULL;
    long mem = QW_PW_DEFAULT_MEM_MIB, ops = QW_PW_DEFAULT_OPS;
    long wait_ms = QW_BARRIER_DEFAULT_WAIT_MS;
    int r, v;

    if (o->val[V_PWMEM]
        && (mem = parse_num(o->val[V_PWMEM], QW_PW_MIN_MEM_MIB, 4096)) < 0) {
        return usage_error("--pw-mem must be 19 to 4096 MiB, not '%s'",
                           o->val[V_PWMEM]);
    }
    if (o->val[V_PWOPS]
        && (ops = parse_num(o->val[V_PWOPS], 2, 100)) < 0) {
        return usage_error("--pw-ops must be 2 to 100, not '%s'",
                           o->val[V_PWOPS]);
    }
    if (o->val[V_WAIT] && (wait_ms = qw_parse_seconds_ms(o->val[V_WAIT], 60)) < 0) {
        return usage_error("--wait must be 0 to 60 seconds (e.g. 2 or 0.5), "
                           "not '%s'", o->val[V_WAIT]);
    }
    memset(&st, 0, sizeof(st));
    st.pool = p;
    st.who.actor = operator_name(p);
    st.who.actor_role = "operator";
    st.who.user_agent = "qiweictl/" QW_VERSION_STRING;
    st.pw.mem_mib = (size_t)mem;
    st.pw.ops = (unsigned long long)ops;

    if (c->needs_keys) {
        const char *err = NULL;

        keyfile = o->val[V_KEYFILE] ? o->val[V_KEYFILE]
                  : getenv("QIWEI_KEYFILE") ? getenv("QIWEI_KEYFILE")
                  : DEFAULT_KEYFILE;
        keys = qw_keyring_load(p, keyfile, &err);
        if (keys == NULL) {
            if (err == NULL || strstr(err, keyfile) == NULL) {
                err = apr_psprintf(p, "key file %s: %s", keyfile,
                                   err ? err : "unreadable");
            }
            die_msg("%s (give the key file with -k FILE or QIWEI_KEYFILE; "
                    "create one with qiweictl keygen)", err);
            return EXIT_RUNTIME;
        }
        st.keys = keys;
    }

    dsn = o->val[V_DB] ? o->val[V_DB] : getenv("QIWEI_DSN");
    if ((st.db = qw_ctl_db_open(p, dsn, &dberr)) == NULL) {
        die_msg("cannot connect to the database: %s", dberr);
        return EXIT_RUNTIME;
    }
    if (c->needs_schema) {
        v = qw_schema_version(&st);
        if (v < 0) {
            die_msg("cannot read the schema version: %s", st.err);
            qw_ctl_db_close(st.db);
            return EXIT_RUNTIME;
        }
        if (v < QW_SCHEMA_VERSION) {
            die_msg("database schema is at version %d, this qiweictl needs "
                    "%d: run qiweictl migrate", v, QW_SCHEMA_VERSION);
            qw_ctl_db_close(st.db);
            return EXIT_RUNTIME;
        }
    }
    r = c->fn(&st, o);
    if (r == 0 && wait_ms > 0 && !reads_only(c)) {
        fflush(stdout);          /* what the command printed comes first */
        r = barrier(&st, wait_ms);
    }
    qw_ctl_db_close(st.db);
    return r;
}

static int dispatch(opts *o, apr_pool_t *p)
{
    const char *w0 = pos(o, 0), *w1 = pos(o, 1);
    const cmd *c, *group_seen = NULL;
    int have;

    if (o->version) {
        printf("qiweictl %s\n", QW_VERSION_STRING);
        return 0;
    }
    if (o->help || (w0 && strcmp(w0, "help") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (w0 == NULL) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(w0, "keygen") == 0) {
        if (o->flags & ~(O_ROTATE | O_GLOBAL)) {
            return usage_error("%s", "keygen takes only --rotate");
        }
        return cmd_keygen(o, p);
    }
    for (c = cmds; c->name; c++) {
        if (c->group == NULL && strcmp(c->name, w0) == 0) {
            break;
        }
        if (c->group != NULL && strcmp(c->group, w0) == 0) {
            group_seen = c;
            if (w1 && strcmp(c->name, w1) == 0) {
                break;
            }
        }
    }
    if (c->name == NULL) {
        if (group_seen) {
            return usage_error("unknown or missing %s subcommand "
                               "(qiweictl help lists them)", w0);
        }
        return usage_error("unknown command '%s'", w0);
    }
    c_words = c->group ? 2 : 1;
    have = o->pos->nelts - c_words;
    /* npos -1: the command checks its own arguments (admin role ...) */
    if (c->npos >= 0 && have != c->npos) {
        return usage_error("usage: qiweictl %s", c->synopsis);
    }
    if (o->flags & ~(c->allowed | O_GLOBAL)) {
        return usage_error("option not accepted here; usage: qiweictl %s",
                           c->synopsis);
    }
    return run(c, o, p);
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    opts o;
    int r;

    if (apr_app_initialize(&argc, (const char *const **)&argv, NULL)
        != APR_SUCCESS || apr_pool_create(&p, NULL) != APR_SUCCESS) {
        fputs("qiweictl: cannot initialise APR\n", stderr);
        return EXIT_RUNTIME;
    }
    atexit(apr_terminate);
    r = parse_args(argc, argv, &o, p);
    if (r == 0) {
        r = dispatch(&o, p);
    }
    fflush(stdout);
    apr_pool_destroy(p);   /* wipes the keyring (pool cleanup) */
    return r;
}
