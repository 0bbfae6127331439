# Shell functions shared by scripts/pg.sh and scripts/pg-ha.sh (sourced;
# the caller defines die).
#
#   pg_bindir [TOOL...]  the PostgreSQL server binaries' directory that has
#                        initdb and every TOOL (pg_config's, else the newest
#                        /usr/lib/postgresql/*/bin, else initdb's on PATH)
#   as_pg CMD...         run CMD as the server's user (postgres when root)
#   as_pg_prefix         the prefix that does that, for printed commands
#   free_port            a free TCP port on 127.0.0.1
#   randpw               24 url-safe random characters (no quoting trouble
#                        in a libpq conninfo)

pg_bindir() {
    local d t ok
    for d in "$(command -v pg_config >/dev/null 2>&1 \
                    && pg_config --bindir 2>/dev/null || true)" \
             "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)" \
             "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
        [ -n "$d" ] && [ -x "$d/initdb" ] || continue
        ok=1
        for t in "$@"; do [ -x "$d/$t" ] || ok=0; done
        [ "$ok" = 1 ] && { echo "$d"; return; }
    done
    die "PostgreSQL server binaries (initdb${1:+ $*}) not found: install 'postgresql'"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

as_pg_prefix() {
    if [ "$(id -u)" = 0 ]; then echo "runuser -u postgres --"; fi
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0, ReuseAddr => 0)
            or die "no free port: $!\n";
        print $s->sockport, "\n";'
}

randpw() {
    head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}
