# Helpers for the database fault tests (issue 11: t/120_db_reconnect.t,
# t/121_db_pool_held.t, t/122_db_faults.t).
#
#   start_node(name => 'n120', extra => "...config...", env => {...})
#       starts a second httpd from a copy of the Apache::Test server's
#       httpd.conf (as t/95_two_nodes.t does) on its own port, with ONE
#       child process (so "the pool of the child" is one pool), extra
#       configuration appended at server level and extra environment
#       (e.g. MALLOC_PERTURB_, which makes glibc fill freed memory so that a
#       use after free crashes instead of silently reading stale bytes).
#       Returns a node hash: {base, port, log, conf, name}; stopped at exit.
#   kill_backends()   pg_terminate_backend of every connection of the
#       module's request pools (application_name 'mod_qiwei'; the cache
#       listeners, 'mod_qiwei listener', are left alone), as the superuser:
#       the database owner may not signal the app role's backends.
#       Returns how many were terminated.
#   backends(%o)      rows (pid, state, wait_event_type) of those backends.
#   crash_lines($log, $from)  lines of an error log (from byte offset $from)
#       that say a child crashed or a sanitizer complained.
#   superuser_session()  a long-lived psql as the superuser (for LOCK TABLE
#       in an open transaction): ->run($sql) runs a statement and waits.
#   node_login($node, '/tNN/qiwei', $account, $password)  logs in through
#       the node's login form; returns (code, session cookie value or undef).
#   read_env_file($file)  the `export K='V'` lines of a file written by
#       scripts/pg.sh or scripts/pg-ha.sh, as a hash.
#   psql_dsn($dsn, $sql)  rows (psql -At, tab-separated) of $sql run with
#       any connection string; dies on error.
package QiweiNode;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Time::HiRes qw(time sleep);
use Apache::Test ();

our @EXPORT = qw(member_locations start_node kill_backends backends crash_lines log_size
                 superuser_session super_sql psql_bin
                 raw_send raw_read raw_request form_body json_body
                 node_login read_env_file psql_dsn);

sub psql_bin {
    return $ENV{QIWEI_PG_BINDIR} ? "$ENV{QIWEI_PG_BINDIR}/psql" : 'psql';
}

sub super_dsn {
    return $ENV{QIWEI_PG_SUPER_DSN} if $ENV{QIWEI_PG_SUPER_DSN};
    # scripts/test.sh sources pg.env; fall back to reading it
    my $env = ($ENV{QIWEI_TEST_STATE} // '') . '/pg.env';
    if (open my $fh, '<', $env) {
        while (<$fh>) {
            return $1 if /^export QIWEI_PG_SUPER_DSN='([^']*)'/;
        }
    }
    die "no superuser DSN (QIWEI_PG_SUPER_DSN)\n";
}

# Run SQL as the superuser in database qiwei; returns the rows (psql -At,
# fields separated by tabs).  Dies on error.
sub super_sql {
    my ($query) = @_;
    my $dsn = super_dsn();
    $dsn =~ s/\bdbname=\S+/dbname=qiwei/;
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, psql_bin(), '-X', '-q', '-At',
                    '-F', "\t", '-v', 'ON_ERROR_STOP=1', '-d', $dsn,
                    '-c', $query);
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "psql (superuser): $e\n" if $?;
    return split /\n/, $o;
}

my $APP = "application_name = 'mod_qiwei' AND backend_type = 'client backend'";

sub kill_backends {
    my ($where) = @_;
    my $w = $APP . ($where ? " AND ($where)" : '');
    my ($n) = super_sql("SELECT count(*) FILTER (WHERE "
                        . "pg_terminate_backend(pid)) FROM pg_stat_activity"
                        . " WHERE $w");
    return $n // 0;
}

sub backends {
    my ($where) = @_;
    my $w = $APP . ($where ? " AND ($where)" : '');
    return map { [split /\t/, $_, -1] }
        super_sql("SELECT pid, state, coalesce(wait_event_type, '') "
                  . "FROM pg_stat_activity WHERE $w ORDER BY pid");
}

sub log_size {
    my ($log) = @_;
    return -s $log // 0;
}

# Crash evidence in an error log (from byte $from on).
sub crash_lines {
    my ($log, $from) = @_;
    open my $fh, '<', $log or return ();
    seek $fh, $from // 0, 0;
    my @l = grep {
        /Segmentation\ fault|exit\ signal|AddressSanitizer|LeakSanitizer|
         UndefinedBehaviorSanitizer|runtime\ error:|double\ free|
         free\(\):|malloc\(\):|corrupted|core\ dumped|\bAborted\b/x
    } <$fh>;
    close $fh;
    return @l;
}

# --- a raw HTTP/1.0 client ---------------------------------------------------
# raw_send($node, METHOD, PATH, headers => [k => v, ...], body => BYTES,
#          rcvbuf => BYTES) sends a request and returns the socket (the
# answer is not read).  raw_read($sock, timeout => S, max => BYTES) reads it:
# {code, status_line, headers => {lc name => [values]}, body, dropped,
# bytes}.  dropped: the connection ended without a status line (a crashed
# child, a reset).  raw_request does both, calling `during` in between.

sub raw_send {
    my ($node, $method, $path, %o) = @_;
    my $port = ref $node ? $node->{port} : $node;
    my $sock = IO::Socket::INET->new(Proto => 'tcp') or die "socket: $!";
    if ($o{rcvbuf}) {
        require Socket;
        setsockopt($sock, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(),
                   pack('i', $o{rcvbuf})) or die "SO_RCVBUF: $!";
    }
    require Socket;
    connect($sock, Socket::pack_sockaddr_in($port,
                                            Socket::inet_aton('127.0.0.1')))
        or die "connect 127.0.0.1:$port: $!";
    $sock->autoflush(1);
    my $body = $o{body} // '';
    my @h = @{ $o{headers} || [] };
    my $req = "$method $path HTTP/1.0\r\nHost: 127.0.0.1:$port\r\n"
            . "Connection: close\r\n";
    while (@h) {
        my ($k, $v) = splice @h, 0, 2;
        $req .= "$k: $v\r\n";
    }
    $req .= "Content-Length: " . length($body) . "\r\n"
        if length $body || $method eq 'POST' || $method eq 'PUT';
    $req .= "\r\n$body";
    my $ok = eval {
        local $SIG{PIPE} = 'IGNORE';
        print {$sock} $req;
    };
    return $sock;
}

sub raw_read {
    my ($sock, %o) = @_;
    my $timeout = $o{timeout} // 30;
    my $max = $o{max};
    my $buf = '';
    my $deadline = time + $timeout;
    my $timed_out = 0;
    require IO::Select;
    my $sel = IO::Select->new($sock);
    while (1) {
        last if defined $max && length $buf >= $max;
        my $left = $deadline - time;
        if ($left <= 0) { $timed_out = 1; last }
        last unless $sel->can_read($left);
        my $n = sysread $sock, my $chunk, 65536;
        last unless $n;                 # EOF (or error: reset)
        $buf .= $chunk;
    }
    $timed_out ||= time >= $deadline;
    my %r = (bytes => length $buf, dropped => 0, timed_out => $timed_out,
             headers => {}, body => '', code => 0, status_line => '');
    my ($head, $body) = split /\r\n\r\n/, $buf, 2;
    if (!defined $head || $head !~ m{^HTTP/\d\.\d (\d{3})}) {
        $r{dropped} = 1 unless $timed_out;
        return \%r;
    }
    $r{code} = $1;
    my @lines = split /\r\n/, $head;
    $r{status_line} = shift @lines;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        push @{ $r{headers}{ lc $k } }, $v;
    }
    $r{body} = $body // '';
    return \%r;
}

sub raw_request {
    my ($node, $method, $path, %o) = @_;
    my $t0 = time;
    my $sock = raw_send($node, $method, $path, %o);
    $o{during}->() if $o{during};
    my $r = raw_read($sock, timeout => $o{timeout}, max => $o{max});
    close $sock;
    $r->{elapsed} = time - $t0;
    return $r;
}

# application/x-www-form-urlencoded body of ordered pairs
sub form_body {
    my @p = @_;
    require URI::Escape;
    my @out;
    while (@p) {
        my ($k, $v) = splice @p, 0, 2;
        push @out, URI::Escape::uri_escape_utf8($k) . '='
            . URI::Escape::uri_escape_utf8($v // '');
    }
    return join '&', @out;
}

# Log in through a node's form (GET the page for the CSRF pair, POST it).
sub node_login {
    my ($node, $handler, $account, $password) = @_;
    my $page = raw_request($node, 'GET', "$handler/login", timeout => 15,
                           headers => [Accept => 'text/html']);
    my ($csrf_cookie) = map { /^(qiwei_csrf=[^;]*)/ ? $1 : () }
        @{ $page->{headers}{'set-cookie'} || [] };
    require QiweiTest;
    my $csrf = QiweiTest::form_field($page->{body}, 'csrf');
    die "node_login $handler: login page answered $page->{code}\n"
        unless $page->{code} == 200 && defined $csrf_cookie && defined $csrf;
    my $r = raw_request($node, 'POST', "$handler/login", timeout => 15,
        headers => [Cookie => $csrf_cookie, Accept => 'text/html',
                    'Content-Type' => 'application/x-www-form-urlencoded'],
        body => form_body(account => $account, password => $password,
                          csrf => $csrf));
    my ($session) = map { /^qiwei_session=([^;]+)/ ? $1 : () }
        @{ $r->{headers}{'set-cookie'} || [] };
    return ($r->{code}, $session);
}

sub read_env_file {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!\n";
    my %e;
    while (<$fh>) {
        $e{$1} = $2 if /^export\s+(\w+)='([^']*)'\s*$/;
    }
    close $fh;
    return %e;
}

sub psql_dsn {
    my ($dsn, $query) = @_;
    my $err = gensym;
    local $ENV{PGCONNECT_TIMEOUT} = 10;
    my $pid = open3(my $in, my $out, $err, psql_bin(), '-X', '-q', '-At',
                    '-F', "\t", '-v', 'ON_ERROR_STOP=1', '-d', $dsn,
                    '-c', $query);
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "psql: $e\n" if $?;
    return split /\n/, $o;
}

sub json_body {
    require JSON::PP;
    return JSON::PP->new->utf8->canonical->encode($_[0]);
}

my @nodes;

# The configuration an enterprise's tests on a node need: its handler at
# /E/qiwei and a members-only copy of the secret page at /E/member (for
# start_node's `extra`).
sub member_locations {
    my ($e) = @_;
    my $docroot = Apache::Test::vars()->{documentroot};
    return <<"EOF";
<Location /$e/qiwei>
    SetHandler qiwei
    QiweiEnterprise $e
    QiweiLoginURL /$e/qiwei/login
</Location>
Alias /$e/member "$docroot/secret"
<Location /$e/member>
    AuthType Qiwei
    QiweiEnterprise $e
    QiweiLoginURL /$e/qiwei/login
    Require qiwei-member
</Location>
EOF
}

sub start_node {
    my (%o) = @_;
    my $name = $o{name} or die "start_node: name\n";
    my $vars = Apache::Test::vars();
    my $conf = "$vars->{t_conf}/httpd.conf";
    my $logs = $vars->{t_logs};

    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!";
    my $port = $probe->sockport;
    close $probe;

    open my $in, '<', $conf or die "$conf: $!";
    my $text = do { local $/; <$in> };
    close $in;
    my $n = ($text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port/mg);
    die "start_node: no Listen in $conf\n" unless $n;
    $text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$logs\/$name.pid"/mg;
    $text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$logs\/${name}_error_log"/mg;
    $text =~ s/^(\s*)(TransferLog|CustomLog)\s+.*$//mg;
    $text =~ s/^(\s*)ScoreBoardFile\s+.*$//mg;
    # one child process: a pool per child is then a pool per node
    $text =~ s/^\s*(StartServers|MinSpareThreads|MaxSpareThreads|
                   ThreadsPerChild|ThreadLimit|MaxClients|MaxRequestWorkers|
                   ServerLimit|MinSpareServers|MaxSpareServers|
                   MaxRequestsPerChild|MaxConnectionsPerChild|
                   MaxThreadsPerChild)\b.*$//mgx;
    my $threads = $o{threads} // 16;
    $text .= <<"EOF";

# --- $name (QiweiNode) ---
<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 1
    ThreadLimit $threads
    ThreadsPerChild $threads
    MaxRequestWorkers $threads
    MinSpareThreads 1
    MaxSpareThreads $threads
    MaxConnectionsPerChild 0
</IfModule>
<IfModule mpm_worker_module>
    StartServers 1
    ServerLimit 1
    ThreadLimit $threads
    ThreadsPerChild $threads
    MaxRequestWorkers $threads
    MinSpareThreads 1
    MaxSpareThreads $threads
    MaxConnectionsPerChild 0
</IfModule>
<IfModule mpm_prefork_module>
    StartServers 1
    ServerLimit 1
    MaxRequestWorkers 1
    MinSpareServers 1
    MaxSpareServers 1
</IfModule>
EOF
    $text .= "$o{extra}\n" if defined $o{extra};
    my $conf_n = "$vars->{t_conf}/httpd_$name.conf";
    open my $out, '>', $conf_n or die "$conf_n: $!";
    print $out $text;
    close $out;

    my $log = "$logs/${name}_error_log";
    unlink $log;
    my $httpd = $vars->{httpd};
    my @start = ($httpd, '-d', $vars->{serverroot}, '-f', $conf_n,
                 '-D', 'APACHE2', '-D', 'APACHE2_4', '-k', 'start');
    {
        local %ENV = (%ENV, %{ $o{env} || {} });
        system(@start) == 0 or die "start_node $name: httpd failed to start"
            . " (see $log)\n";
    }
    my $node = { name => $name, port => $port, conf => $conf_n, log => $log,
                 base => "http://127.0.0.1:$port",
                 pidfile => "$logs/$name.pid",
                 stop => [$httpd, '-d', $vars->{serverroot}, '-f', $conf_n,
                          '-k', 'stop'] };
    push @nodes, $node;
    # up: any HTTP answer
    for (1 .. 150) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Timeout => 1);
        if ($s) { close $s; return $node }
        sleep 0.1;
    }
    die "start_node $name: no answer on port $port\n";
}

sub stop_node {
    my ($node) = @_;
    return unless $node && -f $node->{pidfile};
    open my $fh, '<', $node->{pidfile} or return;
    chomp(my $pid = <$fh> // '');
    close $fh;
    system(@{ $node->{stop} });
    # wait for it to go (its children hold database connections)
    for (1 .. 100) {
        last unless $pid && kill 0, $pid;
        sleep 0.1;
    }
}

END {
    my $rc = $?;
    stop_node($_) for @nodes;
    $? = $rc;
}

# A psql kept open as the superuser in database qiwei: statements are sent
# one at a time and each is waited for (a marker line after it).
sub superuser_session {
    my $dsn = super_dsn();
    $dsn =~ s/\bdbname=\S+/dbname=qiwei/;
    my $err = gensym;
    my $pid = open3(my $in, my $out, $err, psql_bin(), '-X', '-q', '-At',
                    '-v', 'ON_ERROR_STOP=0', '-d', $dsn);
    $in->autoflush(1);
    my $s = bless { pid => $pid, in => $in, out => $out, err => $err },
        'QiweiNode::Session';
    $s->run("SELECT 'ready'");
    return $s;
}

package QiweiNode::Session;

my $seq = 0;

sub run {
    my ($s, $sql) = @_;
    $seq++;
    my $fh = $s->{in};
    print $fh "$sql;\nSELECT 'qw-done-$seq';\n";
    my $outfh = $s->{out};
    my @rows;
    while (defined(my $l = <$outfh>)) {
        chomp $l;
        last if $l eq "qw-done-$seq";
        push @rows, $l;
    }
    return @rows;
}

sub finish {
    my ($s) = @_;
    return unless $s->{in};
    my $fh = $s->{in};
    print $fh "\\q\n";
    CORE::close($fh);
    $s->{in} = undef;
    waitpid $s->{pid}, 0;
}

sub DESTROY { $_[0]->finish }

1;
