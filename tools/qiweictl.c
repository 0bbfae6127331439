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
#include "util/keyring.h"
#include "util/pwhash.h"
#include "util/text.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3
#define EXIT_CONFLICT 4

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
    O_GLOBAL = 1 << 20       /* accepted by every command */
};

typedef struct {
    const char *name;
    int bit;
    int has_arg;
    int index;               /* into opts.val */
} optdef;

enum {
    V_DB, V_KEYFILE, V_PWMEM, V_PWOPS, V_SQLDIR, V_APPROLE, V_PARENT, V_NAME,
    V_MOBILE, V_EMAIL, V_DEPT, V_URL, V_TTL, V_COUNT
};

static const optdef optdefs[] = {
    { "database", O_GLOBAL, 1, V_DB },
    { "key-file", O_GLOBAL, 1, V_KEYFILE },
    { "pw-mem", O_GLOBAL, 1, V_PWMEM },
    { "pw-ops", O_GLOBAL, 1, V_PWOPS },
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
    { NULL, 0, 0, 0 }
};

typedef struct {
    const char *val[V_COUNT];
    int flags;               /* O_* bits seen */
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
"audit and housekeeping:\n"
"  audit verify ENT\n"
"  gc\n"
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
"  -h, --help               this text;  --version  the version\n"
"\n"
"exit status: 0 ok, 1 runtime or database error, 2 usage or invalid input,\n"
"3 not found, 4 conflict (already exists).\n";

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

static PGconn *connect_db(const char *dsn)
{
    const char *keys[3], *vals[3];
    int k = 0;
    PGconn *conn;

    if (dsn != NULL && *dsn != '\0') {
        keys[k] = "dbname";
        vals[k++] = dsn;
    }
    keys[k] = "application_name";
    vals[k++] = "qiweictl";
    keys[k] = NULL;
    vals[k] = NULL;
    conn = PQconnectdbParams(keys, vals, 1);
    if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
        const char *m = conn ? PQerrorMessage(conn) : "out of memory";
        size_t n = strlen(m);

        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ')) {
            n--;
        }
        die_msg("cannot connect to the database: %.*s", (int)n, m);
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

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
    int allowed;             /* O_* bits */
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
    before = qw_schema_version(st->conn);
    if ((rc = qw_migrate(st, dir, o->val[V_APPROLE])) != QW_OK) {
        return fail(st, rc);
    }
    after = qw_schema_version(st->conn);
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
    int v = qw_schema_version(st->conn);

    if (v < 0) {
        die_msg("cannot read the schema version: %s",
                PQerrorMessage(st->conn));
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

static int c_audit_verify(qw_store *st, opts *o)
{
    int64_t rows, bad;
    qw_status rc = qw_audit_verify(st, ARG(0), &rows, &bad);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    if (bad != 0) {
        die_msg("audit chain of %s is BROKEN at seq %s: %s (%s rows read)",
                ARG(0), qw_i64(st->pool, bad), st->err ? st->err : "?",
                qw_i64(st->pool, rows));
        return EXIT_RUNTIME;
    }
    printf("audit chain of %s verified: %s rows\n", ARG(0),
           qw_i64(st->pool, rows));
    return 0;
}

static int c_gc(qw_store *st, opts *o)
{
    long s, t;
    qw_status rc = qw_store_gc(st, &s, &t);

    if (rc != QW_OK) {
        return fail(st, rc);
    }
    printf("deleted %ld expired sessions and %ld used or expired activation "
           "tokens\n", s, t);
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
    { "audit", "verify", 1, 0, 1, 1, c_audit_verify, "audit verify ENT" },
    { NULL, "gc", 0, 0, 0, 1, c_gc, "gc" },
    { NULL, NULL, 0, 0, 0, 0, NULL, NULL }
};

static int run(const cmd *c, opts *o, apr_pool_t *p)
{
    qw_store st;
    const char *dsn, *keyfile;
    qw_keyring *keys = NULL;
    long mem = QW_PW_DEFAULT_MEM_MIB, ops = QW_PW_DEFAULT_OPS;
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
    if ((st.conn = connect_db(dsn)) == NULL) {
        return EXIT_RUNTIME;
    }
    if (c->needs_schema) {
        v = qw_schema_version(st.conn);
        if (v < 0) {
            die_msg("cannot read the schema version: %s",
                    PQerrorMessage(st.conn));
            PQfinish(st.conn);
            return EXIT_RUNTIME;
        }
        if (v < QW_SCHEMA_VERSION) {
            die_msg("database schema is at version %d, this qiweictl needs "
                    "%d: run qiweictl migrate", v, QW_SCHEMA_VERSION);
            PQfinish(st.conn);
            return EXIT_RUNTIME;
        }
    }
    r = c->fn(&st, o);
    PQfinish(st.conn);
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
    if (have != c->npos) {
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
