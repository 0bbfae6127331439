# httpd refuses to start, with a clear message, when the database schema is
# older than the module needs (here: a database that was never migrated).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use Apache::Test ();
use QiweiTest;

my $vars = Apache::Test::vars();
my $logs = $vars->{t_logs};
my $dsn = $ENV{QIWEI_TEST_DSN} or BAIL_OUT('QIWEI_TEST_DSN not set');
# same server and role, but the never-migrated maintenance database
(my $old_dsn = $dsn) =~ s/\bdbname=\S+/dbname=postgres/;
isnt $old_dsn, $dsn, 'a DSN for an unmigrated database';

my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
    or die "no free port: $!";
my $port = $probe->sockport;
close $probe;

open my $in, '<', "$vars->{t_conf}/httpd.conf" or die $!;
my $text = do { local $/; <$in> };
close $in;
$text =~ s/^(\s*)Listen\s+\S+/${1}Listen 127.0.0.1:$port/mg;
$text =~ s/^(\s*)PidFile\s+.*$/${1}PidFile "$logs\/schema_gate.pid"/mg;
$text =~ s/^(\s*)ErrorLog\s+.*$/${1}ErrorLog "$logs\/schema_gate_error_log"/mg;
$text =~ s/^(\s*)(TransferLog|CustomLog|ScoreBoardFile)\s+.*$//mg;
my $conf = "$vars->{t_conf}/httpd_schema_gate.conf";
open my $out, '>', $conf or die $!;
print $out $text;
close $out;
unlink "$logs/schema_gate_error_log";

# in the foreground, so that a refusal in post_config is the exit status
my $pid = fork // die "fork: $!";
if (!$pid) {
    # QiweiDatabase "${QIWEI_TEST_DSN}" is expanded from httpd's environment
    $ENV{QIWEI_TEST_DSN} = $old_dsn;
    exec $vars->{httpd}, '-d', $vars->{serverroot}, '-f', $conf,
         '-D', 'APACHE2', '-D', 'APACHE2_4', '-D', 'FOREGROUND';
    exit 127;
}
my $exited;
for (1 .. 100) {
    if (waitpid($pid, 1) == $pid) { $exited = $?; last }   # WNOHANG
    select undef, undef, undef, 0.1;
}
if (!defined $exited) {
    kill 'TERM', $pid;
    waitpid $pid, 0;
}
ok defined $exited && $exited != 0, 'httpd refuses to start';
open my $log, '<', "$logs/schema_gate_error_log";
my $err = $log ? do { local $/; <$log> } : '';
like $err, qr/QW0110: database schema is at version -?\d+, mod_qiwei \S+ needs \d+: run 'qiweictl migrate'/,
    'the error log says why and what to do';
unlike $err, qr/password=/, 'no password in the message';

done_testing();
