/* bench/revoke_poll.c: revocation latency under load (issue 7 part 3).
 *
 *   revoke_poll DSN TRIALS LIST PATH PORT_A PIDS_A PORT_B PIDS_B
 *
 * LIST: lines "enterprise_id<TAB>member_id<TAB>cookie", at least TRIALS + 1
 * (the extra line is the control trial).  PIDS_x: comma-separated pids of
 * instance x's httpd children, so every child gets at least one of our
 * keep-alive connections (a connection stays on the child that accepted it).
 *
 * Per trial: every connection asks PATH with the member's cookie until each
 * has had 3 answers 200 (warm: the session is in each child's cache), then
 * one transaction does what `qiweictl member set-status ... disabled` does
 * (UPDATE members, DELETE FROM sessions) and every connection polls
 * back-to-back (epoll, no sleep) until it gets a non-200.  An instance
 * refuses when all of its connections have; the time is counted from the
 * moment COMMIT is sent (so it includes the commit itself).
 *
 * The control trial repeats this with triggers off for the transaction
 * (session_replication_role = replica, so no NOTIFY is sent): if the
 * instances still answer 200 for a while, they really were serving from
 * the cache, and the trials measured NOTIFY, not a database lookup.
 *
 * Prints "REVOKE trial=N a_ms=X b_ms=Y commit_ms=Z" per trial and
 * "CONTROL a_stale_ms=X b_stale_ms=Y" (how long each still said 200), and
 * "CONNS a=N/children b=N/children".  Needs root (to read /proc/PID/fd of
 * httpd children) for the child mapping; without it the mapping is skipped.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#define MAXCONN 24
#define MAXPID 16
#define TIMEOUT_MS 3000.0

typedef struct {
    int fd;
    int inst;                   /* 0 = A, 1 = B */
    pid_t child;
    char buf[8192];
    size_t len;
    int refused;                /* got a non-200 in this phase */
    double t_refused;
    int ok;                     /* 200 answers in this phase */
} conn;

typedef struct {
    int port;
    pid_t pids[MAXPID];
    int npids;
} inst;

static conn conns[2 * MAXCONN];
static int nconns;
static inst insts[2];
static int ep;
static char req[4096];
static size_t reqlen;
static const char *path;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *m)
{
    fprintf(stderr, "revoke_poll: %s\n", m);
    exit(1);
}

/* The httpd child that holds the server end of our socket: find the
 * socket's inode in /proc/net/tcp, then the child whose fds include it. */
static pid_t owner_child(int fd, const inst *in)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char line[512], want[64], link[64], p[64];
    unsigned long inode = 0;
    FILE *f;
    int i;

    if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        return 0;
    }
    snprintf(want, sizeof(want), "0100007F:%04X 0100007F:%04X",
             in->port, ntohs(sa.sin_port));
    if ((f = fopen("/proc/net/tcp", "r")) == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = strchr(line, ':');
        if (s && strncmp(s + 2, want, strlen(want)) == 0) {
            /* sl local rem st tx:rx tr:tm retr uid timeout inode */
            char a[64], b[64], c[64], d[64], e[64], g[64], h[64], u[64],
                 t[64];
            if (sscanf(line, "%63s %63s %63s %63s %63s %63s %63s %63s %63s "
                       "%lu", a, b, c, d, e, g, h, u, t, &inode) != 10) {
                inode = 0;
            }
            break;
        }
    }
    fclose(f);
    if (inode == 0) {
        return 0;
    }
    snprintf(want, sizeof(want), "socket:[%lu]", inode);
    for (i = 0; i < in->npids; i++) {
        DIR *d;
        struct dirent *de;

        snprintf(p, sizeof(p), "/proc/%d/fd", (int)in->pids[i]);
        if ((d = opendir(p)) == NULL) {
            continue;
        }
        while ((de = readdir(d)) != NULL) {
            char fp[512];
            ssize_t n;

            snprintf(fp, sizeof(fp), "%s/%s", p, de->d_name);
            n = readlink(fp, link, sizeof(link) - 1);
            if (n > 0) {
                link[n] = '\0';
                if (strcmp(link, want) == 0) {
                    closedir(d);
                    return in->pids[i];
                }
            }
        }
        closedir(d);
    }
    return 0;
}

static int dial(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    if (fd < 0) {
        die("socket");
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        die("connect");
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void arm(conn *c)
{
    struct epoll_event ev;

    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        die("epoll_ctl");
    }
}

static void send_req(conn *c)
{
    size_t off = 0;

    c->len = 0;
    while (off < reqlen) {
        ssize_t n = write(c->fd, req + off, reqlen - off);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            /* the server closed a kept-alive connection: redial, same
             * instance (the child may differ; noted) */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = dial(insts[c->inst].port);
            c->child = owner_child(c->fd, &insts[c->inst]);
            arm(c);
            off = 0;
            continue;
        }
        off += (size_t)n;
    }
}

static void set_cookie(const char *cookie)
{
    int n = snprintf(req, sizeof(req),
                     "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Accept: text/html\r\n"
                     "Cookie: qiwei_session=%s\r\n\r\n", path, cookie);
    if (n <= 0 || (size_t)n >= sizeof(req)) {
        die("request too long");
    }
    reqlen = (size_t)n;
}

/* Run one phase: every connection keeps one request in flight.  warm:
 * until every connection has `warm` 200s (a non-200 is an error).  Poll
 * (warm == 0): until every connection has seen a non-200, or timeout. */
static int phase(int warm, double t0, double timeout_ms)
{
    struct epoll_event evs[64];
    int i, left = nconns;

    for (i = 0; i < nconns; i++) {
        conns[i].refused = 0;
        conns[i].ok = 0;
        conns[i].t_refused = 0;
        send_req(&conns[i]);
    }
    while (left > 0) {
        int n = epoll_wait(ep, evs, 64, 100);

        if (now_ms() - t0 > timeout_ms) {
            return -1;
        }
        for (i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->len,
                             sizeof(c->buf) - 1 - c->len);
            char *end;
            int status;

            if (r <= 0) {
                if (r < 0 && errno == EINTR) {
                    continue;
                }
                send_req(c);    /* closed: redial and ask again */
                continue;
            }
            c->len += (size_t)r;
            c->buf[c->len] = '\0';
            if ((end = strstr(c->buf, "\r\n\r\n")) == NULL) {
                if (c->len >= sizeof(c->buf) - 1) {
                    die("response header too long");
                }
                continue;
            }
            /* HEAD: no body follows, whatever Content-Length says */
            if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1) {
                die("bad status line");
            }
            if (warm) {
                if (status != 200) {
                    fprintf(stderr, "revoke_poll: warm-up got %d on "
                            "instance %c\n", status, 'A' + c->inst);
                    return -2;
                }
                if (++c->ok == warm) {
                    left--;
                    continue;
                }
            } else if (status != 200) {
                c->refused = 1;
                c->t_refused = now_ms() - t0;
                left--;
                continue;
            } else {
                c->ok++;
            }
            send_req(c);
        }
    }
    return 0;
}

/* When the last of instance in's connections was refused; limit if one
 * never was. */
static double inst_time(int in, double limit)
{
    double t = 0;
    int i;

    for (i = 0; i < nconns; i++) {
        if (conns[i].inst == in && !conns[i].refused) {
            return limit;
        }
        if (conns[i].inst == in && conns[i].t_refused > t) {
            t = conns[i].t_refused;
        }
    }
    return t;
}

static void exec_ok(PGconn *pg, const char *sql, int np, const char **pv,
                    ExecStatusType want)
{
    PGresult *res = PQexecParams(pg, sql, np, NULL, pv, NULL, NULL, 0);

    if (PQresultStatus(res) != want) {
        fprintf(stderr, "revoke_poll: %s: %s\n", sql, PQerrorMessage(pg));
        exit(1);
    }
    PQclear(res);
}

static void parse_pids(inst *in, char *s)
{
    char *tok, *save = NULL;

    in->npids = 0;
    for (tok = strtok_r(s, ",", &save); tok && in->npids < MAXPID;
         tok = strtok_r(NULL, ",", &save)) {
        in->pids[in->npids++] = (pid_t)atoi(tok);
    }
}

/* A cookie-less HEAD and its answer, blocking (before arm()). */
static void first_answer(conn *c)
{
    char r[512];
    int n = snprintf(r, sizeof(r), "HEAD %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "\r\n", path);

    if (n <= 0 || (size_t)n >= sizeof(r) || write(c->fd, r, n) != n) {
        die("first request failed");
    }
    c->len = 0;
    while (!strstr(c->buf, "\r\n\r\n")) {
        ssize_t k = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (k <= 0) {
            die("no answer to the first request");
        }
        c->len += (size_t)k;
        c->buf[c->len] = '\0';
    }
    c->len = 0;
    c->buf[0] = '\0';
}

/* Connections to instance in: at least 4, more (up to MAXCONN) until every
 * child known has at least one. */
static void open_conns(int in)
{
    int have = 0;

    for (;;) {
        int i, j, covered = 0;

        for (j = 0; j < insts[in].npids; j++) {
            for (i = 0; i < nconns; i++) {
                if (conns[i].inst == in
                    && conns[i].child == insts[in].pids[j]) {
                    covered++;
                    break;
                }
            }
        }
        if (have >= 4 && (covered == insts[in].npids || have >= MAXCONN)) {
            break;
        }
        conns[nconns].inst = in;
        conns[nconns].fd = dial(insts[in].port);
        /* one request first: until a child has accepted the connection,
         * no child holds its server end */
        first_answer(&conns[nconns]);
        conns[nconns].child = owner_child(conns[nconns].fd, &insts[in]);
        arm(&conns[nconns]);
        nconns++;
        have++;
    }
}

static void print_conns(int in)
{
    int i, j;

    printf("CONNS %c=", 'a' + in);
    for (j = 0; j < insts[in].npids; j++) {
        int k = 0;
        for (i = 0; i < nconns; i++) {
            k += conns[i].inst == in && conns[i].child == insts[in].pids[j];
        }
        printf("%s%d:%d", j ? "," : "", (int)insts[in].pids[j], k);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    char line[1024], ent[MAXCONN * 4][32], mem[MAXCONN * 4][32],
         cookie[MAXCONN * 4][256];
    int trials, nlist = 0, t;
    PGconn *pg;
    FILE *f;

    if (argc != 9) {
        die("usage: revoke_poll DSN TRIALS LIST PATH PORT_A PIDS_A PORT_B "
            "PIDS_B");
    }
    trials = atoi(argv[2]);
    path = argv[4];
    insts[0].port = atoi(argv[5]);
    parse_pids(&insts[0], argv[6]);
    insts[1].port = atoi(argv[7]);
    parse_pids(&insts[1], argv[8]);
    if ((f = fopen(argv[3], "r")) == NULL) {
        die("cannot open the list");
    }
    while (nlist < MAXCONN * 4 && fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%31[^\t]\t%31[^\t]\t%255s", ent[nlist],
                   mem[nlist], cookie[nlist]) == 3) {
            nlist++;
        }
    }
    fclose(f);
    if (trials < 1 || nlist < trials + 1) {
        die("the list needs TRIALS + 1 members");
    }
    pg = PQconnectdb(argv[1]);
    if (PQstatus(pg) != CONNECTION_OK) {
        die("cannot connect to PostgreSQL");
    }
    if ((ep = epoll_create1(0)) < 0) {
        die("epoll_create1");
    }
    open_conns(0);
    open_conns(1);
    print_conns(0);
    print_conns(1);
    fflush(stdout);

    for (t = 0; t <= trials; t++) {
        const char *pv[2] = { ent[t], mem[t] };
        int control = (t == trials);
        double t0, tc;
        int rc;

        set_cookie(cookie[t]);
        if (phase(3, now_ms(), 10000) != 0) {
            die("warm-up failed (the member's page is not 200)");
        }
        usleep(50000);
        exec_ok(pg, "BEGIN", 0, NULL, PGRES_COMMAND_OK);
        if (control) {
            exec_ok(pg, "SET LOCAL session_replication_role = replica", 0,
                    NULL, PGRES_COMMAND_OK);
        }
        exec_ok(pg, "UPDATE members SET status = 'disabled', "
                "status_changed_at = now(), updated_at = now() "
                "WHERE enterprise_id = $1 AND member_id = $2", 2, pv,
                PGRES_COMMAND_OK);
        exec_ok(pg, "DELETE FROM sessions WHERE enterprise_id = $1 "
                "AND member_id = $2", 2, pv, PGRES_COMMAND_OK);
        t0 = now_ms();
        exec_ok(pg, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
        tc = now_ms() - t0;
        if (!control) {
            rc = phase(0, t0, TIMEOUT_MS);
            printf("REVOKE trial=%d a_ms=%.2f b_ms=%.2f commit_ms=%.2f%s\n",
                   t + 1, inst_time(0, TIMEOUT_MS), inst_time(1, TIMEOUT_MS),
                   tc,
                   rc == 0 ? "" : " timeout");
        } else {
            /* no NOTIFY: how long does each instance keep saying 200?
             * Bounded at 1 s; then a NOTIFY by hand evicts it. */
            rc = phase(0, t0, 1000);
            printf("CONTROL a_stale_ms=%.2f b_stale_ms=%.2f%s\n",
                   inst_time(0, 1000.0), inst_time(1, 1000.0),
                   rc == 0 ? "" : " (still 200 after 1000 ms)");
            exec_ok(pg, "SELECT pg_notify('qiwei_inval', 'm:' || $1 || ':' "
                    "|| $2)", 2, pv, PGRES_TUPLES_OK);
        }
        fflush(stdout);
    }
    print_conns(0);
    print_conns(1);
    PQfinish(pg);
    return 0;
}
