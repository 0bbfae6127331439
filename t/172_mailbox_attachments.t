# Attachments of private-mailbox messages (R10, docs/mailbox.md#attachments):
# sent base64 in the JSON send, sealed per copy, revealed with the text,
# downloaded (kept and expires_at messages only) with Content-Disposition:
# attachment, nosniff and a sandbox CSP; refused when too large (413, from
# Content-Length before the body is read), too many or malformed (400);
# deleted with their copy by every rule and act (read once, expiry on read
# and by gc, sender, recipient, wipe, member status, member deleted), after
# which pg_dump holds neither their bytes nor their keys.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes ();
use JSON::PP ();
use MIME::Base64 qw(encode_base64 decode_base64);
use Apache::TestRequest ();
use QiweiTest;

ua_reset();

my $E = 't172';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $AB = "/t172b/qiwei/api/v1";
my $u = uniq();

seed_enterprise($E, "Attachments $E");
admin_two_step_optional($E);
my %pw;
$pw{$_} = activate_member($E, "$_$u") for qw(alice bob carol dave);
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
sub mid {
    return sql("SELECT member_id FROM members WHERE enterprise_id = $eid"
               . " AND account = '$_[0]$u'");
}
# attachment rows of message $id (of one member's copy when named)
sub att_rows {
    my ($id, $who) = @_;
    my $w = defined $who ? ' AND member_id = ' . mid($who) : '';
    return sql("SELECT count(*) FROM mailbox_attachments WHERE"
               . " enterprise_id = $eid AND message_id = $id$w");
}
# the hex of every sealed attachment and wrapped key of message $id
sub att_secrets {
    my ($id) = @_;
    my $o = sql("SELECT string_agg(encode(blob_enc, 'hex') || ' ' ||"
                . " encode(dek_wrapped, 'hex'), ' ') FROM mailbox_attachments"
                . " WHERE enterprise_id = $eid AND message_id = $id");
    return grep { length } split / /, $o // '';
}

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($lr, $ac, $acsrf) = api_login($H, $root, $rootpw);
is $lr->code, 201, 'admin logs in';

my (%sess, %csrf);
sub member_login {
    my ($who) = @_;
    ($sess{$who}, $csrf{$who}) = mailbox_login($H, "$who$u", $pw{$who});
}
member_login($_) for qw(alice bob carol dave);

sub send_admin {
    my (%m) = @_;
    return api('POST', "$A/mailbox/messages", cookie => $ac, csrf => $acsrf,
               json => \%m);
}
sub reveal {
    my ($who, $id) = @_;
    return api('POST', "$A/me/mailbox/$id/reveal", cookie => $sess{$who},
               csrf => $csrf{$who});
}
sub download {
    my ($who, $id, $n) = @_;
    return api('GET', "$A/me/mailbox/$id/attachments/$n",
               cookie => $sess{$who});
}
sub att {
    my ($name, $type, $bytes) = @_;
    return { name => $name, type => $type,
             data => encode_base64($bytes, '') };
}

# a PNG (the signature, then a marker) and an HTML page with a script
my $PNGMARK = "PNG-MARK-$u";
my $png = "\x89PNG\r\n\x1a\n" . "\0\0\0\rIHDR" . $PNGMARK . ("\0" x 64);
my $HTMLMARK = "HTML-MARK-$u";
my $html = "<html><script>alert('$HTMLMARK')</script></html>";

# --- send, list, reveal, download (kept) ------------------------------------
my ($r, $d) = send_admin(title => "Files $u", body => "see attached $u",
                         rule => 'kept', to => { members => ["alice$u",
                                                             "bob$u"] },
                         attachments => [att('photo.png', 'image/png', $png),
                                         att("../../etc/re\"port<1>.html",
                                             'text/html', $html)]);
is $r->code, 201, 'a kept message with two attachments: 201';
my $k = $d->{id};
is $d->{recipients}, 2, '... to two members';
is att_rows($k), 4, '... one sealed attachment per copy: 4 rows';
is sql("SELECT string_agg(content_type, ',' ORDER BY idx) FROM"
       . " mailbox_attachments WHERE enterprise_id = $eid AND message_id = $k"
       . " AND member_id = " . mid('alice')),
    'image/png,application/octet-stream',
    '... an image stays an image; text/html is kept as octet-stream';
is sql("SELECT count(DISTINCT encode(dek_wrapped, 'hex')) FROM"
       . " mailbox_attachments WHERE enterprise_id = $eid AND message_id = $k"),
    4, '... each under a data key of its own';
{
    my $raw = sql("SELECT string_agg(encode(blob_enc, 'escape'), '') FROM"
                  . " mailbox_attachments WHERE message_id = $k"
                  . " AND enterprise_id = $eid");
    ok index($raw, $PNGMARK) < 0 && index($raw, $HTMLMARK) < 0
        && index($raw, 'report') < 0,
        '... neither bytes nor names in the clear in the database';
    my $det = sql("SELECT details::text FROM audit_log WHERE enterprise_id"
                  . " = $eid AND action = 'mailbox_send' AND object ="
                  . " 'mailbox:$k'");
    like $det, qr/"attachments": ?2/, 'the log counts the attachments';
    unlike $det, qr/photo|report/, '... never names them';
}
{
    my ($l, $ld) = api('GET', "$A/me/mailbox", cookie => $sess{alice});
    my ($it) = grep { $_->{id} == $k } @{ $ld->{items} };
    is $it->{attachments}, 2, 'the list counts the attachments';
    is $it->{attachment_bytes}, length($png) + length($html),
        '... and their size';
    unlike $l->content, qr/photo|report|\Q$PNGMARK\E/,
        '... never names nor bytes';
}
($r, $d) = reveal('alice', $k);
is $r->code, 200, 'alice reveals it';
is scalar @{ $d->{attachments} }, 2, '... with both attachments';
{
    my ($p, $h) = @{ $d->{attachments} };
    is $p->{index}, 1, 'the first: index 1';
    is $p->{name}, 'photo.png', '... its name';
    is $p->{type}, 'image/png', '... an image';
    ok $p->{inline}, '... shown inline';
    is decode_base64($p->{data}), $png, '... the bytes sent';
    is $h->{name}, 're_port_1_.html', 'the second: the name cleaned (no path,'
        . ' no quote, no angle brackets)';
    is $h->{type}, 'application/octet-stream', '... a download';
    ok !$h->{inline}, '... never inline';
    is decode_base64($h->{data}), $html, '... the bytes sent';
}
($r) = download('alice', $k, 2);
is $r->code, 200, 'alice downloads the second attachment';
is $r->content, $html, '... its bytes';
is $r->header('Content-Type'), 'application/octet-stream',
    '... as application/octet-stream';
like $r->header('Content-Disposition'),
    qr/^attachment; filename="re_port_1_\.html"; filename\*=UTF-8''re_port_1_\.html$/,
    '... Content-Disposition: attachment with the cleaned name';
is $r->header('X-Content-Type-Options'), 'nosniff', '... nosniff';
is $r->header('Content-Security-Policy'), "sandbox; default-src 'none'",
    '... sandboxed';
like $r->header('Cache-Control'), qr/\bno-store\b/, '... no-store';
($r) = download('alice', $k, 1);
is $r->code, 200, 'the image too';
is $r->header('Content-Type'), 'image/png', '... as image/png';
like $r->header('Content-Disposition'), qr/^attachment;/,
    '... but still as a download';
is $r->content, $png, '... its bytes';
($r) = download('bob', $k, 1);
is $r->code, 200, 'bob downloads his own copy (unread: a download consumes '
    . 'nothing)';
($r) = download('carol', $k, 1);
is $r->code, 404, 'carol, no recipient: 404';
($r) = api('GET', "$A/me/mailbox/$k/attachments/1");
is $r->code, 401, 'no session: 401';
($r) = download('alice', $k, 3);
is $r->code, 404, 'no third attachment: 404';
($r) = download('alice', $k, 'x');
is $r->code, 404, 'a bad index: 404';
($r) = api('POST', "$A/me/mailbox/$k/attachments/1", cookie => $sess{alice},
           csrf => $csrf{alice});
is $r->code, 405, 'POST to an attachment: 405';

# --- type checks, name -------------------------------------------------------
($r, $d) = send_admin(title => "Spoof $u", body => 'x', rule => 'kept',
                      to => { members => ["alice$u"] },
                      attachments => [att('a.png', 'image/png', $html),
                                      att('', 'image/gif',
                                          "GIF89a" . ("\0" x 10))]);
is $r->code, 201, 'an "image/png" that is HTML: accepted';
my $sp = $d->{id};
($r, $d) = reveal('alice', $sp);
is $d->{attachments}[0]{type}, 'application/octet-stream',
    '... but kept as application/octet-stream (the bytes decide)';
is $d->{attachments}[1]{type}, 'image/gif', 'a real GIF stays image/gif';
is $d->{attachments}[1]{name}, 'attachment', 'an empty name: "attachment"';

# --- read once: images only, with the reveal only ----------------------------
($r, $d) = send_admin(title => "RO $u", body => 'x', rule => 'read_once',
                      to => { members => ["alice$u"] },
                      attachments => [att('r.html', 'text/html', $html)]);
is $r->code, 400, 'read once with a non-image attachment: 400';
($r, $d) = send_admin(title => "RO $u", body => 'ro text', rule => 'read_once',
                      to => { members => ["alice$u", "bob$u"] },
                      attachments => [att('r.png', 'image/png', $png)]);
is $r->code, 201, 'read once with an image: 201';
my $ro = $d->{id};
my @ro_secrets = att_secrets($ro);
is scalar @ro_secrets, 4, '(its two copies\' sealed image and key)';
($r) = download('alice', $ro, 1);
is $r->code, 404, 'no download of a read-once attachment, even unread: 404';
($r, $d) = reveal('alice', $ro);
is $r->code, 200, 'alice reveals it';
is decode_base64($d->{attachments}[0]{data}), $png,
    '... the image comes with the reveal';
is att_rows($ro, 'alice'), 0, '... and is gone with her copy';
is att_rows($ro, 'bob'), 1, '... bob\'s is still there';
($r) = download('alice', $ro, 1);
is $r->code, 404, 'after the reveal: still 404';
($r) = reveal('alice', $ro);
is $r->code, 410, 'a second reveal: 410';
ok !defined(eval { JSON::PP->new->decode($r->content)->{attachments} }),
    '... without attachments';

# --- every other rule and act destroys them ---------------------------------
my @secrets = @ro_secrets;
sub kept_to {
    my (@who) = @_;
    my ($r, $d) = send_admin(title => "K $u", body => "k $u", rule => 'kept',
                             to => { members => [map {"$_$u"} @who] },
                             attachments => [att('k.bin', undef, $html)]);
    die "send: " . $r->code . "\n" unless $r->code == 201;
    push @secrets, att_secrets($d->{id});
    return $d->{id};
}
{
    my $id = kept_to(qw(alice bob));
    ($r) = api('DELETE', "$A/me/mailbox/$id", cookie => $sess{alice},
               csrf => $csrf{alice});
    is $r->code, 200, 'alice destroys her copy';
    is att_rows($id, 'alice'), 0, '... her attachments are gone';
    is att_rows($id, 'bob'), 1, '... not bob\'s';
    ($r) = download('alice', $id, 1);
    is $r->code, 410, '... her download: 410';
    ($r) = api('DELETE', "$A/mailbox/messages/$id", cookie => $ac,
               csrf => $acsrf);
    is $r->code, 200, 'the sender destroys it for everyone';
    is att_rows($id), 0, '... no attachment left';
    ($r) = download('bob', $id, 1);
    is $r->code, 410, '... bob\'s download: 410';
}
{
    my ($r, $d) = send_admin(title => "E $u", body => 'e', rule => 'expires_at',
                             expires_in => 3600,
                             to => { members => ["alice$u", "bob$u"] },
                             attachments => [att('e.bin', undef, $html)]);
    my $id = $d->{id};
    push @secrets, att_secrets($id);
    ($r) = download('alice', $id, 1);
    is $r->code, 200, 'an expires_at message\'s attachment downloads';
    sql("UPDATE mailbox_messages SET expires_at = now() - interval '1 second'"
        . " WHERE enterprise_id = $eid AND message_id = $id");
    ($r) = download('alice', $id, 1);
    is $r->code, 410, 'once its time has passed: 410';
    ($r) = reveal('alice', $id);
    is $r->code, 410, 'the reveal after the time: 410';
    is att_rows($id, 'alice'), 0, '... destroyed alice\'s attachments';
    is att_rows($id, 'bob'), 1, '... bob\'s wait for gc';
    qctl_ok(['--wait', '0', 'gc']);
    is att_rows($id), 0, 'qiweictl gc: none left';
}
{
    my $id = kept_to(qw(bob carol));
    ($r) = api('POST', "$A/mailbox/wipe", cookie => $ac, csrf => $acsrf,
               json => { account => "bob$u" });
    is $r->code, 200, 'the admin wipes bob\'s mailbox';
    is att_rows($id, 'bob'), 0, '... his attachments are gone';
    is att_rows($id, 'carol'), 1, '... not carol\'s';
    my ($rc) = set_status($E, "carol$u", 'disabled');
    is $rc, 0, 'carol is disabled';
    is att_rows($id, 'carol'), 0, '... her attachments are gone';
}
{
    my $id = kept_to(qw(dave));
    is att_rows($id, 'dave'), 1, 'dave has one';
    my ($rc) = delete_member($E, "dave$u");
    is $rc, 0, 'dave is deleted';
    is att_rows($id), 0, '... his attachments with him';
}
ok @secrets >= 14, 'sealed attachments and keys noted before destruction ('
    . scalar(@secrets) . ')';
{
    my $dump = pg_dump();
    ok length($dump) > 1000, 'pg_dump ran';
    my @left = grep { index($dump, $_) >= 0 } @secrets;
    is scalar @left, 0, 'pg_dump holds no destroyed attachment and no key of'
        . ' one';
    ok index($dump, $PNGMARK) < 0 && index($dump, $HTMLMARK) < 0,
        '... and never the bytes in the clear';
    ok index($dump, 'photo.png') < 0, '... nor a name';
}

# --- limits and bad input ------------------------------------------------------
{
    my $n = sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id"
                . " = $eid");
    my %m = (title => "Bad $u", body => 'x', rule => 'kept',
             to => { members => ["alice$u"] });
    ($r, $d) = send_admin(%m, attachments => [att('big', undef,
                                                  'b' x 4097)]);
    is $r->code, 413, 'an attachment above QiweiMailboxMaxAttachment (4096):'
        . ' 413';
    is $d->{error}{field}, 'attachments[0]', '... named';
    ($r, $d) = send_admin(%m, attachments => [att('ok', undef, 'b' x 4096)]);
    is $r->code, 201, 'exactly 4096: 201';
    $n++;
    ($r, $d) = send_admin(%m, attachments => [map { att("f$_", undef, 'x') }
                                              1 .. 5]);
    is $r->code, 400, 'five attachments: 400';
    is $d->{error}{field}, 'attachments', '... named';
    ($r, $d) = send_admin(%m, attachments => [{ name => 'a', data => '%%%' }]);
    is $r->code, 400, 'data that is not base64: 400';
    is $d->{error}{field}, 'attachments[0].data', '... named';
    ($r, $d) = send_admin(%m, attachments => [{ name => 'a', data => 'eA==',
                                                path => '/etc' }]);
    is $r->code, 400, 'an unknown key in an attachment: 400';
    ($r, $d) = send_admin(%m, attachments => [{ data => 'eA==' }]);
    is $r->code, 400, 'an attachment without a name: 400';
    ($r, $d) = send_admin(%m, attachments => { name => 'a', data => 'eA==' });
    is $r->code, 400, 'attachments not an array: 400';
    is sql("SELECT count(*) FROM mailbox_messages WHERE enterprise_id"
           . " = $eid"), $n, '... none of the refused stored anything';
    my (undef, $bc, $bcsrf) = api_login("/t172b/qiwei", $root, $rootpw);
    ($r, $d) = api('POST', "$AB/mailbox/messages", cookie => $bc,
                   csrf => $bcsrf,
                   json => { %m, attachments => [att('a', undef, 'x')] });
    is $r->code, 400, 'QiweiMailboxMaxAttachment 0: attachments refused (400)';
    ($r) = api('POST', "$AB/mailbox/messages", cookie => $bc, csrf => $bcsrf,
               json => \%m);
    is $r->code, 201, '... a message without any: 201';
}

# A huge Content-Length with a tiny body: the 413 comes at once, from the
# header, without waiting for a body that never comes.
{
    my ($host, $port) = Apache::TestRequest::resolve_url('/')
        =~ m{^https?://([^/:]+):(\d+)/};
    my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
                                  Proto => 'tcp') or die "connect: $!";
    my $t0 = Time::HiRes::time();
    print {$s} "POST $A/mailbox/messages HTTP/1.1\r\nHost: $host:$port\r\n"
        . "Cookie: $ac\r\nX-CSRF-Token: $acsrf\r\n"
        . "Origin: http://$host:$port\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: 104857600\r\n\r\n{\"title\":";
    my $sel = IO::Select->new($s);
    my $got = '';
    while ($got !~ /\r\n/ && Time::HiRes::time() - $t0 < 10
           && $sel->can_read(10)) {
        last unless sysread($s, $got, 4096, length $got);
    }
    my $took = Time::HiRes::time() - $t0;
    close $s;
    like $got, qr{^HTTP/1\.1 413}, 'Content-Length 100 MiB, 9 bytes sent: 413';
    ok $took < 3, sprintf('... at once (%.2f s), before any body', $took);
}

# --- a scan-to-login session does not consume read-once messages -------------
my $sc;         # alice's scan-to-login session
{
    my ($r, $d) = send_admin(title => "Scan $u", body => "scan text $u",
                             rule => 'read_once',
                             to => { members => ["alice$u"] });
    my $sro = $d->{id};
    ($r, $d) = send_admin(title => "Scan kept $u", body => "kept text $u",
                          rule => 'kept', to => { members => ["alice$u"] });
    my $skept = $d->{id};
    # the public computer shows a code, alice's phone approves it
    my ($ap, $ss) = scan_login($H, $sess{alice});
    is $ap->code, 200, 'alice approves a scan to log in on another computer';
    ok $ss, '... which gets a session';
    $sc = "qiwei_session=$ss";
    my ($g, $gd) = api('GET', "$A/me/mailbox", cookie => $sc);
    is $g->code, 200, 'the scan session lists the mailbox';
    ($r, $d) = api('POST', "$A/me/mailbox/$sro/reveal", cookie => $sc,
                   csrf => $gd->{csrf});
    is $r->code, 403, 'it may not reveal a read-once message: 403';
    is $d->{error}{reason}, 'scan_session', '... reason scan_session';
    is sql("SELECT state FROM mailbox_copies WHERE enterprise_id = $eid AND"
           . " message_id = $sro"), 'unread', '... the message is untouched';
    ($r, $d) = api('POST', "$A/me/mailbox/$skept/reveal", cookie => $sc,
                   csrf => $gd->{csrf});
    is $r->code, 200, 'a kept message: it may';
    ($r, $d) = reveal('alice', $sro);
    is $r->code, 200, 'the phone reveals the read-once message';
    is $d->{body}, "scan text $u", '... the text';
}

# --- the reveal page (<handler>/mailbox/ID) ------------------------------------
sub page_get {
    my ($cookie, $id) = @_;
    return http_get("$H/mailbox/$id", cookie => $cookie, html => 1,
                    lang => 'en');
}
sub page_reveal {
    my ($cookie, $id) = @_;
    my $csrf = form_field(page_get($cookie, $id)->content, 'csrf');
    return http_post("$H/mailbox/$id", [action => 'reveal', csrf => $csrf],
                     cookie => $cookie, html => 1, lang => 'en');
}
{
    my $b64 = encode_base64($png, '');
    my ($r, $d) = send_admin(title => "Page $u", body => "page text $u",
                             rule => 'kept', to => { members => ["alice$u"] },
                             attachments => [att('p.png', 'image/png', $png),
                                             att('doc.html', 'text/html',
                                                 $html)]);
    my $id = $d->{id};
    my $p = page_reveal($sess{alice}, $id);
    is $p->code, 200, 'the reveal page of a kept message with attachments';
    like $p->content, qr/page text \Q$u\E/, '... the text';
    like $p->content, qr{<img src="data:image/png;base64,\Q$b64\E" alt="p\.png">},
        '... the image inline, as a data: URI from this answer';
    like $p->content,
        qr{<a href="\Q$H\E/api/v1/me/mailbox/$id/attachments/2" download>doc\.html</a>},
        '... the other file as a link to the download';
    unlike $p->content, qr/\Q$HTMLMARK\E|data:application|data:text/,
        '... never its bytes in the page, never a data: URI of another type';
    my $csp = $p->header('Content-Security-Policy') // '';
    like $csp, qr/img-src[^;]*\bdata:/, "... the page's CSP allows data: "
        . 'images';
    like $csp, qr/default-src 'none'/, '... and nothing else by default';
    unlike $csp, qr/script-src/, '... no script';
    like $p->header('Cache-Control'), qr/\bno-store\b/, '... no-store';
    my $dl = http_get("$H/api/v1/me/mailbox/$id/attachments/2",
                      cookie => $sess{alice});
    is $dl->code, 200, "the link downloads with the page's session";
    is $dl->content, $html, '... the file';

    ($r, $d) = send_admin(title => "Page once $u", body => "once text $u",
                          rule => 'read_once',
                          to => { members => ["alice$u"] },
                          attachments => [att('o.png', 'image/png', $png)]);
    my $ro = $d->{id};
    my $g = page_get($sc, $ro);
    is $g->code, 200, 'the scan session sees the confirmation step';
    unlike $g->content, qr/id="reveal"/, '... without a reveal button for a '
        . 'read-once message';
    like $g->content, qr/read it on your phone|Open it in the mailbox on your phone/i,
        '... it says to read it on the phone';
    my $csrf = form_field($g->content, 'csrf');
    $p = http_post("$H/mailbox/$ro", [action => 'reveal', csrf => $csrf],
                   cookie => $sc, html => 1, lang => 'en');
    is $p->code, 403, 'a reveal POST from the scan session: 403';
    unlike $p->content, qr/once text/, '... no text';
    is att_rows($ro, 'alice'), 1, '... nothing consumed';
    $p = page_reveal($sess{alice}, $ro);
    is $p->code, 200, 'the phone\'s session reveals it';
    like $p->content, qr{<img src="data:image/png;base64,\Q$b64\E" alt="o\.png">},
        '... with its image inline';
    is att_rows($ro, 'alice'), 0, '... destroyed with the copy';
    $p = page_get($sess{alice}, $ro);
    is $p->code, 410, 'opened again: 410';
    unlike $p->content, qr/data:image/, '... no image';
}

done_testing;
