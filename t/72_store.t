# The encrypted article store (QiweiArticleStore On): bodies served to the
# audience only, never readable in the database, bound to their row (a
# swapped or altered row does not decrypt), key rotation keeps old bodies
# readable and "keys rewrap" moves them to the new key; and a proxied
# back-end guarded by Require qiwei-article.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Encode qw(decode_utf8 encode_utf8);
use QiweiTest;

ua_reset();

my $H = '/t72/qiwei';
my $u = uniq();
seed_enterprise('t72', '存储测试');
seed_department('t72', 'board', '董事会');
seed_department('t72', 'eng', '研发部');
my %acct = (boss => "boss$u", eng => "eng$u");
my %s;
activate_member('t72', $acct{boss}, depts => 'board',
                password => 'Board-Pw-123456!x');
activate_member('t72', $acct{eng}, depts => 'eng',
                password => 'Eng-Pw-1234567!xy');
(undef, $s{boss}) = login($H, $acct{boss}, 'Board-Pw-123456!x');
(undef, $s{eng}) = login($H, $acct{eng}, 'Eng-Pw-1234567!xy');
ok $s{boss} && $s{eng}, 'members log in';

my $marker = "QIWEI-STORED-BODY-$u";
sub body_of { "<!DOCTYPE html><html><body><p>会议纪要 $_[0] $marker</p>"
              . "</body></html>" }

sub store {
    my ($path, $text, @opts) = @_;
    qctl_ok(['article', 'add', 't72', 'minutes', $path, '--title',
             "纪要 $path", '--owner', $acct{boss}, '--dept', 'board', @opts]);
    qctl_ok(['article', 'body', 't72', 'minutes', $path, '-'],
            encode_utf8($text));
}

sub reads {
    my ($path, $who, $text, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = http_get($path, cookie => "qiwei_session=$s{$who}", html => 1);
    ok $r->code == 200 && decode_utf8($r->content) eq $text, "$name: 200 "
        . 'with the stored body' or diag 'got ' . $r->code;
    return $r;
}

my $P1 = "/t72/store/q1-$u.html";
store($P1, body_of('q1'));

# --- served to the audience only -------------------------------------------
{
    my $r = reads($P1, 'boss', body_of('q1'), 'board member');
    like $r->header('Content-Type') // '', qr{^text/html; charset=utf-8},
        '... as UTF-8 HTML';
    is $r->header('X-Content-Type-Options'), 'nosniff', '... nosniff';
    like $r->header('Cache-Control') // '', qr/no-store/, '... no-store';
    my $d = http_get($P1, cookie => "qiwei_session=$s{eng}", html => 1);
    is $d->code, 403, 'not in the audience: 403';
    unlike $d->content, qr/\Q$marker\E/, '... no body';
    refused_as_anonymous($P1, undef, 'anonymous on a stored body',
                         '/t72/qiwei/login');
    my $n = http_get("/t72/store/none-$u.html",
                     cookie => "qiwei_session=$s{boss}", html => 1);
    is $n->code, 403, 'no article there: refused';
    # an article without a stored body
    my $empty = "/t72/store/empty-$u.html";
    qctl_ok(['article', 'add', 't72', 'minutes', $empty, '--title', 'e',
             '--owner', $acct{boss}, '--all']);
    is http_get($empty, cookie => "qiwei_session=$s{boss}")->code, 404,
        'article without a body: 404';
    my $post = http_post($P1, [a => 1], cookie => "qiwei_session=$s{boss}");
    is $post->code, 405, 'POST to a stored body: 405';
    is decode_utf8(qctl_ok(['article', 'cat', 't72', 'minutes', $P1])),
        body_of('q1'), 'qiweictl article cat decrypts';
}

# --- proven encrypted in the database ---------------------------------------
sub row {
    my ($path) = @_;
    my ($line) = psql_query("SELECT encode(body_enc, 'hex'), "
        . "encode(dek_wrapped, 'hex'), dek_kid, article_id FROM articles "
        . "WHERE path = '$path'");
    return split /\t/, $line;
}
{
    my ($bhex, $dhex, $kid) = row($P1);
    my $bytes = pack 'H*', $bhex;
    ok length($bytes) > length($marker), 'a body is stored';
    is index($bytes, $marker), -1, 'the marker is not in body_enc';
    is index($bytes, encode_utf8('会议纪要')), -1,
        '... nor the Chinese text';
    is length(pack 'H*', $dhex), 65, 'a wrapped 256-bit data key';
    is $kid, 1, '... under key 1';
    my @dump = psql_query("SELECT a::text FROM articles a WHERE path = "
                          . "'$P1'");
    unlike join('', @dump), qr/\Q$marker\E/, 'no plaintext in the row';
    unlike join('', @dump), qr/\Q${\ unpack('H*', $marker)}\E/i,
        '... not even hex-encoded';
}

# --- bound to its row ---------------------------------------------------------
{
    my $P2 = "/t72/store/q2-$u.html";
    store($P2, body_of('q2'));
    reads($P2, 'boss', body_of('q2'), 'second article');
    # a DBA copies article 1's ciphertext and key into article 2
    psql_query("UPDATE articles t SET body_enc = s.body_enc, dek_wrapped = "
               . "s.dek_wrapped, dek_kid = s.dek_kid FROM articles s WHERE "
               . "s.path = '$P1' AND t.path = '$P2'");
    my $r = http_get($P2, cookie => "qiwei_session=$s{boss}", html => 1);
    is $r->code, 500, 'swapped row does not decrypt: 500';
    unlike $r->content, qr/\Q$marker\E/, '... and shows nothing';
    # one altered byte of the ciphertext
    store("/t72/store/q3-$u.html", body_of('q3'));
    psql_query("UPDATE articles SET body_enc = set_byte(body_enc, 20, "
               . "get_byte(body_enc, 20) # 1) WHERE path = "
               . "'/t72/store/q3-$u.html'");
    is http_get("/t72/store/q3-$u.html",
                cookie => "qiwei_session=$s{boss}")->code, 500,
        'altered ciphertext: 500';
    qctl_ok(['article', 'body', 't72', 'minutes', $P2, '-'],
            encode_utf8(body_of('q2 again')));
    reads($P2, 'boss', body_of('q2 again'), 're-uploaded body');
}

# --- key rotation -------------------------------------------------------------
{
    my $kf = $ENV{QIWEI_KEYFILE};
    like qctl_ok(['keygen', '--rotate', $kf]), qr/added key 2/,
        'key rotated: key 2 is current';
    httpd_graceful();
    reads($P1, 'boss', body_of('q1'), 'old body after the rotation');
    my $P4 = "/t72/store/q4-$u.html";
    store($P4, body_of('q4'));
    is((row($P4))[2], 2, 'a new body is under key 2');
    reads($P4, 'boss', body_of('q4'), 'new body');
    my ($bhex_before) = row($P1);
    like qctl_ok(['keys', 'rewrap']), qr/re-wrapped [1-9]\d* article data/,
        'keys rewrap';
    my ($bhex_after, undef, $kid) = row($P1);
    is $kid, 2, 'old article now under key 2';
    is $bhex_after, $bhex_before, '... its body was not re-encrypted';
    reads($P1, 'boss', body_of('q1'), 'old body after the re-wrap');
    like qctl_ok(['keys', 'rewrap']), qr/re-wrapped 0 /,
        'a second rewrap has nothing to do';
    like qctl_ok(['audit', 'verify', 't72']), qr/verified/,
        'audit chain verifies across the rotation';
}

# --- a guarded proxied back-end ------------------------------------------------
{
    my $p = '/t72/proxy/index.html';
    # owned by eng: the owner always reads their own article
    my ($rc) = qctl(['article', 'add', 't72', 'wiki', $p, '--title', 'w',
                     '--owner', $acct{eng}, '--dept', 'eng']);
    ok $rc == 0 || $rc == 4, 'article for the proxied page';
    allowed($p, $s{eng}, 'proxied back-end, in the audience');
    denied($p, $s{boss}, 'proxied back-end, not in the audience');
    refused_as_anonymous($p, undef, 'proxied back-end, anonymous',
                         '/t72/qiwei/login');
    denied('/t72/proxy/other.html', $s{eng},
           'proxied back-end, no article there');
}

done_testing();
