# A pgbouncer (Debian 12: 1.18) in front of the suite's PostgreSQL, for
# t/142_pgbouncer.t.
#
#   start_pgbouncer(name => 'pgb142', pool_mode => 'session', ini => {...})
#       writes DIR = $QIWEI_TEST_STATE/NAME (owned by postgres, 0700) with
#       pgbouncer.ini and an auth_file holding the SCRAM secrets of
#       qiwei_app and qiwei_owner copied from pg_authid (as the superuser),
#       and runs pgbouncer in the foreground as user postgres (pgbouncer
#       refuses root) on a free port of 127.0.0.1, no Unix socket.
#       Database 'qiwei' goes to the suite's PostgreSQL (QIWEI_PG_PORT);
#       database 'pgbouncer' is its admin console (admin_users qiwei_owner).
#       `ini` adds or overrides [pgbouncer] settings.  Waits (deadline 15 s)
#       until a query through it answers.  Returns {port, pid, dir, log,
#       app_dsn, owner_dsn, admin_dsn}; stopped (SIGTERM: immediate) at
#       exit or by stop_pgbouncer($b).
#   pgb_show($b, 'SERVERS')  rows of the admin console's SHOW as hashes
#       (column names from the header).
#   pid_tcp_peers($pid)  remote ports of the established TCP connections of
#       process $pid to 127.0.0.1 (from /proc), as a list.
package QiweiPgbouncer;

use strict;
use warnings FATAL => 'all';

use Exporter 'import';
use IO::Socket::INET;
use IPC::Open3 qw(open3);
use POSIX ();
use Symbol qw(gensym);
use Time::HiRes qw(time sleep);
use QiweiNode ();

our @EXPORT = qw(start_pgbouncer stop_pgbouncer pgb_show pgb_bin
                 pid_tcp_peers free_port);

sub pgb_bin {
    for my $b ('/usr/sbin/pgbouncer', '/usr/bin/pgbouncer') {
        return $b if -x $b;
    }
    return undef;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 0)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# key=value of a libpq DSN (no quoting: the suite's passwords need none)
sub dsn_field {
    my ($dsn, $k) = @_;
    return $dsn =~ /(?:^|\s)\Q$k\E=(\S+)/ ? $1 : undef;
}

my @running;

sub start_pgbouncer {
    my (%o) = @_;
    my $name = $o{name} or die "start_pgbouncer: name\n";
    my $bin = pgb_bin() or die "no pgbouncer: apt-get install pgbouncer "
        . "(scripts/deps.sh)\n";
    my $state = $ENV{QIWEI_TEST_STATE} or die "QIWEI_TEST_STATE not set\n";
    my $pg_port = $ENV{QIWEI_PG_PORT} // dsn_field(QiweiNode::super_dsn(),
                                                   'port');
    my $app = $ENV{QIWEI_PG_APP_DSN} // $ENV{QIWEI_TEST_DSN}
        or die "no QIWEI_PG_APP_DSN\n";
    my $owner = $ENV{QIWEI_PG_OWNER_DSN} // $ENV{QIWEI_DSN}
        or die "no QIWEI_PG_OWNER_DSN\n";

    my ($uid, $gid) = (getpwnam('postgres'))[2, 3];
    die "no user postgres\n" unless defined $uid;

    my $dir = "$state/$name";
    system('rm', '-rf', $dir);
    mkdir $dir, 0700 or die "$dir: $!";
    chown $uid, $gid, $dir;

    # the SCRAM secrets, as PostgreSQL stores them: pgbouncer checks the
    # client's SCRAM proof against them and logs in to PostgreSQL with the
    # keys the client's proof revealed (no plain password on disk)
    my %secret = map { split /\t/, $_, 2 }
        QiweiNode::super_sql("SELECT rolname, rolpassword FROM pg_authid "
                             . "WHERE rolname IN ('qiwei_app', 'qiwei_owner')");
    die "no SCRAM secrets in pg_authid\n"
        unless 2 == grep { ($secret{$_} // '') =~ /^SCRAM-SHA-256\$/ }
                         qw(qiwei_app qiwei_owner);
    my $auth = "$dir/userlist.txt";
    {
        my $old = umask 077;
        open my $fh, '>', $auth or die "$auth: $!";
        print $fh qq{"$_" "$secret{$_}"\n} for sort keys %secret;
        close $fh;
        umask $old;
    }
    chown $uid, $gid, $auth;

    my $port = free_port();
    my %ini = (
        listen_addr => '127.0.0.1',
        listen_port => $port,
        unix_socket_dir => '',
        auth_type => 'scram-sha-256',
        auth_file => $auth,
        admin_users => 'qiwei_owner',
        pool_mode => $o{pool_mode} // 'session',
        max_client_conn => 200,
        default_pool_size => 40,
        logfile => "$dir/pgbouncer.log",
        pidfile => '',
        log_connections => 1,
        log_disconnections => 1,
        %{ $o{ini} || {} },
    );
    my $conf = "$dir/pgbouncer.ini";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh "[databases]\nqiwei = host=127.0.0.1 port=$pg_port dbname=qiwei\n"
        . "\n[pgbouncer]\n";
    print $fh "$_ = $ini{$_}\n" for sort keys %ini;
    close $fh;
    chown $uid, $gid, $conf;

    my $pid = fork // die "fork: $!";
    if (!$pid) {
        POSIX::setgid($gid);
        $) = "$gid $gid";
        POSIX::setuid($uid);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$dir/stdout.log";
        open STDERR, '>&', \*STDOUT;
        { exec $bin, $conf; }
        POSIX::_exit(127);
    }
    my $b = { name => $name, pid => $pid, port => $port, dir => $dir,
              conf => $conf, log => "$dir/pgbouncer.log" };
    push @running, $b;
    my $pw_app = dsn_field($app, 'password');
    my $pw_owner = dsn_field($owner, 'password');
    my $base = "host=127.0.0.1 port=$port connect_timeout=5";
    $b->{app_dsn} = "$base dbname=qiwei user=qiwei_app password=$pw_app";
    $b->{owner_dsn} = "$base dbname=qiwei user=qiwei_owner password=$pw_owner";
    $b->{admin_dsn} = "$base dbname=pgbouncer user=qiwei_owner "
        . "password=$pw_owner";

    my $deadline = time + 15;
    my $err = '';
    while (time < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $b->{pid} = undef;
            die "pgbouncer exited at start ($?): " . slurp("$dir/stdout.log")
                . slurp($b->{log});
        }
        my $ok = eval {
            my @r = QiweiNode::psql_dsn($b->{owner_dsn}, 'SELECT 1');
            $r[0] eq '1';
        };
        return $b if $ok;
        $err = $@;
        sleep 0.1;
    }
    die "pgbouncer $name: no answer on port $port within 15 s: $err\n";
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh> // '';
}

sub stop_pgbouncer {
    my ($b) = @_;
    return unless $b && $b->{pid};
    my $pid = $b->{pid};
    # SIGINT: "safe shutdown" (waits for clients); SIGTERM: immediate
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        last if waitpid($pid, POSIX::WNOHANG()) == $pid;
        sleep 0.05;
    }
    if (kill 0, $pid) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $b->{pid} = undef;
}

# SHOW <what> on the admin console: a list of hashes
sub pgb_show {
    my ($b, $what) = @_;
    my $err = gensym;
    local $ENV{PGCONNECT_TIMEOUT} = 10;
    my $pid = open3(my $in, my $out, $err, QiweiNode::psql_bin(), '-X', '-q',
                    '-A', '-F', "\t", '-P', 'footer=off',
                    '-d', $b->{admin_dsn}, '-c', "SHOW $what");
    close $in;
    local $/;
    my $o = <$out> // '';
    my $e = <$err> // '';
    waitpid $pid, 0;
    die "SHOW $what: $e\n" if $?;
    my ($head, @rows) = split /\n/, $o;
    my @cols = split /\t/, $head // '', -1;
    return map {
        my @v = split /\t/, $_, -1;
        my %h;
        @h{@cols} = @v;
        \%h;
    } @rows;
}

# Remote ports of process $pid's established TCP connections to 127.0.0.1
sub pid_tcp_peers {
    my ($pid) = @_;
    my %inode;
    opendir my $d, "/proc/$pid/fd" or return ();
    for my $fd (readdir $d) {
        my $l = readlink "/proc/$pid/fd/$fd" // next;
        $inode{$1} = 1 if $l =~ /^socket:\[(\d+)\]$/;
    }
    closedir $d;
    my @ports;
    open my $t, '<', "/proc/$pid/net/tcp" or return ();
    <$t>;
    while (<$t>) {
        my @f = split;
        # local_address rem_address st ... inode (field 9)
        next unless $f[3] eq '01' && $inode{ $f[9] };
        my ($ip, $port) = split /:/, $f[2];
        next unless $ip eq '0100007F';
        push @ports, hex $port;
    }
    close $t;
    return @ports;
}

END {
    my $rc = $?;
    stop_pgbouncer($_) for @running;
    $? = $rc;
}

1;
