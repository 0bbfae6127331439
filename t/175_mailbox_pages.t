# The member's mailbox pages (<handler>/mailbox, <handler>/mailbox/<id>):
# the list never carries a body; a GET of a message never consumes it (the
# confirmation step); the reveal is a POST with CSRF; the revealed page
# shows the body as escaped text, with the viewer's watermark (the handler
# location has no QiweiWatermark) and headers that keep it out of every
# cache; a read-once message answers "already read" the second time; a
# destroyed or expired message answers 410; another member's message 404,
# exactly like one that does not exist; hostile titles and sender names
# are escaped; zh-CN and en; the home page links to the mailbox; and a
# request with a session cookie whose session is over (sessions ended, the
# mailbox wiped) gets Clear-Site-Data, one without a cookie does not.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Encode qw(decode_utf8);
use QiweiTest;

ua_reset();
my $u = uniq();
my $E = 't175';
my $H = "/$E/qiwei";
my $MB = "$H/mailbox";

seed_enterprise($E, 'Mailbox pages');
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");

my $rname = "Reader $u";
my $reader = "rd$u";
my $rpw = activate_member($E, $reader, name => $rname);
my $other = "ot$u";
my $opw = activate_member($E, $other, name => "Other $u");
# a member whose display name is hostile: the sender of one message
my $evil = q{<script>alert("s")</script> & 'q'};
my $bad = "ev$u";
activate_member($E, $bad, name => $evil);

sub member_id {
    my ($acct) = @_;
    return sql("SELECT member_id FROM members WHERE enterprise_id = $eid"
             . " AND account = '$acct'");
}

# Send a message (qiweictl mailbox send, the operator); returns its id.
sub send_msg {
    my (%o) = @_;
    my @exp = defined $o{expires} ? ('--expires', $o{expires}) : ();
    my ($rc, $out, $err) = qctl(['mailbox', 'send', $E, '--title', $o{title},
                                 '--rule', $o{rule}, '--member', $o{to},
                                 @exp], $o{body});
    is $rc, 0, "sent message $o{rule}" or diag $err;
    my ($id) = ($out // '') =~ /\bmessage (\d+) sent\b/;
    ok $id, '... its id printed' or diag $out;
    return $id;
}

sub copy_state {
    my ($id, $acct) = @_;
    return sql("SELECT state || ',' || (body_enc IS NULL)::text FROM"
             . " mailbox_copies WHERE enterprise_id = $eid AND message_id ="
             . " $id AND member_id = " . member_id($acct));
}

sub get {
    my ($path, $s, %o) = @_;
    return http_get($path, cookie => "qiwei_session=$s", html => 1,
                    lang => $o{lang} // 'en');
}

sub post {
    my ($path, $s, $form, %o) = @_;
    return http_post($path, $form, cookie => "qiwei_session=$s", html => 1,
                     lang => 'en', %o);
}

sub never_kept {
    my ($r, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    like $r->header('Cache-Control') // '', qr/\bno-store\b/,
        "$name: Cache-Control no-store";
    is $r->header('Pragma') // '', 'no-cache', "$name: Pragma no-cache";
    is $r->header('Referrer-Policy') // '', 'no-referrer',
        "$name: Referrer-Policy no-referrer";
    my $csp = join ',', $r->header('Content-Security-Policy');
    like $csp, qr/default-src 'none'/, "$name: CSP default-src 'none'";
    unlike $csp, qr/script-src/, "$name: ... and no script source at all";
    unlike $r->content, qr/<script/i, "$name: no script in the page";
}

my $once_body = "ONCE-BODY-$u line one\nline <b>two</b>";
my $kept_body = "KEPT-BODY-$u <img src=x onerror=alert(1)> & <script>"
              . "alert(2)</script>\nsecond line";
my $htitle = qq{T $u <img src=x onerror=alert(1)> "&" 'x'};

my $once = send_msg(title => "Once $u", to => $reader, rule => 'read_once',
                    body => $once_body);
my $kept = send_msg(title => $htitle, to => $reader, rule => 'kept',
                    body => $kept_body);
my $gone = send_msg(title => "Gone $u", to => $reader, rule => 'kept',
                    body => "GONE-BODY-$u");
my $theirs = send_msg(title => "Theirs $u", to => $other, rule => 'kept',
                      body => "THEIRS-BODY-$u");
my $soon = send_msg(title => "Soon $u", to => $reader, rule => 'expires_at',
                    expires => 2, body => "SOON-BODY-$u");
# the hostile sender: a member's message (the metadata only)
sql("UPDATE mailbox_messages SET sender_kind = 'member', sender_admin_id ="
  . " NULL, sender_member_id = " . member_id($bad) . ", sender_actor ="
  . " 'member:" . member_id($bad) . "' WHERE enterprise_id = $eid AND"
  . " message_id = $kept");

# --- anonymous ---------------------------------------------------------------
{
    my $r = http_get($MB, html => 1);
    is $r->code, 302, 'anonymous list: 302';
    is local_location($r), "$H/login?next=%2F$E%2Fqiwei%2Fmailbox",
        '... to the login with next=';
    ok !defined $r->header('Clear-Site-Data'),
        '... no Clear-Site-Data without a cookie';
    $r = http_post("$MB/$once", [action => 'reveal']);
    is $r->code, 303, 'anonymous reveal: 303 to the login';
    is copy_state($once, $reader), 'unread,false', '... nothing consumed';
}

my (undef, $s) = login($H, $reader, $rpw);
ok $s, 'the reader logs in';

# --- the list ------------------------------------------------------------------
{
    my $r = get($MB, $s);
    is $r->code, 200, 'list: 200';
    never_kept($r, 'list');
    my $c = decode_utf8($r->content);
    like $c, qr{<a href="\Q$MB/$once\E">Once \Q$u\E</a>},
        'list: the read-once message, linked to its confirmation step';
    like $c, qr{\QT $u &lt;img src=x onerror=alert(1)&gt; &quot;&amp;&quot; &#39;x&#39;\E},
        'list: a hostile title, escaped';
    unlike $c, qr/<img src=x/, '... never markup';
    like $c, qr{\Q&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt; &amp; &#39;q&#39;\E},
        'list: a hostile sender name, escaped';
    unlike $c, qr/<script>alert/, '... never markup';
    unlike $c, qr/(ONCE|KEPT|GONE|SOON|THEIRS)-BODY/, 'list: never a body';
    unlike $c, qr/Theirs \Q$u\E/, "list: not another member's message";
    like $c, qr/unread/, 'list: unread marked';
    like $c, qr/read once/, 'list: the rule shown';
    is wm_count($r->content), 1, 'list: watermarked';
    my $z = decode_utf8(get($MB, $s, lang => 'zh-CN')->content);
    like $z, qr{<title>私密信箱</title>}, 'zh-CN: the title';
    like $z, qr/阅后即焚/, 'zh-CN: the rule';
    like decode_utf8(get("$H/home", $s)->content),
        qr{<a href="\Q$MB\E">Mailbox</a>}, 'the home page links to it';
}

# --- the confirmation step: a GET never reveals -------------------------------
my $csrf;
{
    for my $i (1 .. 3) {
        my $r = get("$MB/$once", $s);
        is $r->code, 200, "GET $i of the read-once message: 200";
        unlike $r->content, qr/ONCE-BODY/, '... without its body';
        $csrf //= form_field($r->content, 'csrf');
    }
    my $r = http_get("$MB/$once", cookie => "qiwei_session=$s",
                     headers => ['Purpose' => 'prefetch',
                                 'Sec-Purpose' => 'prefetch']);
    is $r->code, 200, 'a prefetch: 200';
    is copy_state($once, $reader), 'unread,false',
        'after GETs and a prefetch: still unread, body kept';
    $r = get("$MB/$once", $s);
    never_kept($r, 'confirmation');
    my $c = decode_utf8($r->content);
    like $c, qr{<h1>Once \Q$u\E</h1>}, 'confirmation: the title';
    like $c, qr{<title>Mailbox</title>},
        '... but not as the document title (browser history keeps those)';
    like $c, qr{<button type="submit" id="reveal"[^>]*>Reveal</button>},
        '... a Reveal button';
    like $c, qr{<form method="post" action="\Q$MB/$once\E">},
        '... posting to the message';
    like $c, qr/read once: destroyed when you reveal it/, '... the rule';
    ok $csrf, '... with a CSRF token';
}

# --- reveal: CSRF --------------------------------------------------------------
{
    my $r = post("$MB/$once", $s, [action => 'reveal']);
    is $r->code, 403, 'reveal without a CSRF token: 403';
    unlike $r->content, qr/ONCE-BODY/, '... no body';
    $r = post("$MB/$once", $s, [action => 'reveal', csrf => "x$csrf"]);
    is $r->code, 403, 'a wrong token: 403';
    $r = post("$MB/$once", $s, [action => 'reveal', csrf => $csrf],
              headers => [Origin => 'http://evil.example']);
    is $r->code, 403, 'a cross-site origin: 403';
    my (undef, $s2) = login($H, $reader, $rpw);
    my $csrf2 = form_field(get("$MB/$once", $s2)->content, 'csrf');
    $r = post("$MB/$once", $s, [action => 'reveal', csrf => $csrf2]);
    is $r->code, 403, "another session's token: 403";
    is copy_state($once, $reader), 'unread,false', '... nothing consumed';
}

# --- reveal a read-once message ------------------------------------------------
{
    my $r = post("$MB/$once", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 200, 'reveal: 200';
    never_kept($r, 'revealed');
    my $c = decode_utf8($r->content);
    like $c, qr{\QONCE-BODY-$u line one\E\nline &lt;b&gt;two&lt;/b&gt;},
        '... the body as escaped text, line breaks kept';
    unlike $c, qr{<b>two}, '... never as markup';
    is wm_count($r->content), 1, '... watermarked (the location has none)';
    like $c, qr{<title>Mailbox</title>}, '... the document title is generic';
    like wm_text($r->content) // '', qr/^\Q$rname\E #\d{4} /,
        '... with the reader\'s name';
    like $r->header('Refresh') // '', qr{^\d+; url=\Q$MB/$once\E$},
        '... closes itself (Refresh) to the confirmation step';
    unlike $c, qr/share|link=/i, '... no share link';
    unlike $c, qr/id="destroy"/, '... nothing left to destroy';
    is copy_state($once, $reader), 'destroyed,true',
        'the copy is destroyed: no ciphertext';

    $r = post("$MB/$once", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 410, 'a second reveal: 410';
    like decode_utf8($r->content), qr/Already read/, '... "already read"';
    unlike $r->content, qr/ONCE-BODY/, '... no body';
    never_kept($r, 'already read');
    $r = get("$MB/$once", $s);
    is $r->code, 410, 'its confirmation step: 410 "already read" too';
    like decode_utf8($r->content), qr/Already read/, '... says so';
    unlike decode_utf8(get($MB, $s)->content), qr/Once \Q$u\E/,
        'no longer in the list';
}

# --- a kept message: reveal, reveal again, destroy --------------------------------
{
    my $r = post("$MB/$kept", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 200, 'reveal a kept message: 200';
    my $c = decode_utf8($r->content);
    like $c, qr{\QKEPT-BODY-$u &lt;img src=x onerror=alert(1)&gt; &amp; &lt;script&gt;alert(2)&lt;/script&gt;\E},
        '... hostile body text escaped';
    unlike $c, qr{<img src=x|<script>alert}, '... never markup';
    like $c, qr{\Q&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt;\E},
        '... the hostile sender escaped';
    like $c, qr{<button type="submit" id="destroy"}, '... a Destroy button';
    ok !defined $r->header('Refresh'), '... no timer';
    is wm_count($r->content), 1, '... watermarked';
    is post("$MB/$kept", $s, [action => 'reveal', csrf => $csrf])->code, 200,
        'a kept message reveals again';

    $r = post("$MB/$gone", $s, [action => 'destroy']);
    is $r->code, 403, 'destroy without a CSRF token: 403';
    is copy_state($gone, $reader), 'unread,false', '... not destroyed';
    $r = post("$MB/$gone", $s, [action => 'destroy', csrf => $csrf]);
    is $r->code, 303, 'destroy: 303';
    is local_location($r), "$MB?destroyed=1", '... to the list';
    is copy_state($gone, $reader), 'destroyed,true',
        '... the copy destroyed, no ciphertext';
    like decode_utf8(get("$MB?destroyed=1", $s)->content), qr/Destroyed\./,
        '... the list says so';
    $r = post("$MB/$gone", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 410, 'reveal a destroyed message: 410';
    like decode_utf8($r->content), qr/was destroyed/, '... says so';
    unlike $r->content, qr/GONE-BODY/, '... no body';
    is get("$MB/$gone", $s)->code, 410, 'its confirmation step: 410';
    $r = post("$MB/$gone", $s, [action => 'whatever', csrf => $csrf]);
    is $r->code, 400, 'an unknown action: 400';
}

# --- expired -------------------------------------------------------------------
{
    sleep 3;
    my $r = get("$MB/$soon", $s);
    is $r->code, 410, 'an expired message: 410 on the confirmation step';
    $r = post("$MB/$soon", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 410, '... and on reveal';
    unlike $r->content, qr/SOON-BODY/, '... no body';
}

# --- someone else's message: 404, like one that does not exist ------------------
{
    my $r = get("$MB/$theirs", $s);
    is $r->code, 404, "another member's message: 404";
    my $n = get("$MB/987654321", $s);
    is $n->code, 404, 'a message that does not exist: 404';
    (my $a = $r->content) =~ s/nonce="[^"]*"/nonce=""/g;
    (my $b = $n->content) =~ s/nonce="[^"]*"/nonce=""/g;
    is $a, $b, '... the same page';
    unlike $r->content, qr/Theirs \Q$u\E|THEIRS-BODY/, '... nothing of it';
    $r = post("$MB/$theirs", $s, [action => 'reveal', csrf => $csrf]);
    is $r->code, 404, '... reveal: 404';
    unlike $r->content, qr/THEIRS-BODY/, '... no body';
    is post("$MB/$theirs", $s, [action => 'reveal'])->code, 403,
        '... without a token: 403, as for an own message';
    $r = post("$MB/$theirs", $s, [action => 'destroy', csrf => $csrf]);
    is $r->code, 404, '... destroy: 404';
    is copy_state($theirs, $other), 'unread,false', '... their copy untouched';
    for my $p ("$MB/0", "$MB/01", "$MB/1x", "$MB/-1",
               "$MB/99999999999999999999") {
        is get($p, $s)->code, 404, "$p: 404";
    }
    is http_get("$MB/$kept", cookie => "qiwei_session=$s",
                headers => ['X-Http-Method-Override' => 'POST'])->code, 200,
        'a GET stays a GET';
    require HTTP::Request;
    my $d = Apache::TestRequest::user_agent()->request(HTTP::Request->new(
        DELETE => Apache::TestRequest::resolve_url("$MB/$kept"),
        ['Cookie' => "qiwei_session=$s"]));
    is $d->code, 405, 'DELETE: 405';
}

# --- the session is over: Clear-Site-Data ----------------------------------------
{
    my (undef, $s3) = login($H, $reader, $rpw);
    is get($MB, $s3)->code, 200, 'a second session reads the mailbox';
    my ($rc, $out, $err) = qctl(['mailbox', 'wipe', $E, $reader, '--yes']);
    is $rc, 0, 'an operator wipes the mailbox (lost phone)' or diag $err;
    for my $c ([$MB, 'the mailbox'], ["$MB/$kept", 'a message'],
               ["/$E/member/", 'a gated location']) {
        my $r = get($c->[0], $s3);
        is $r->code, 302, "$c->[1] with the dead cookie: to the login";
        like local_location($r), qr{^\Q$H\E/login\?next=}, '... the login';
        is $r->header('Clear-Site-Data') // '', '"cache", "storage"',
            '... with Clear-Site-Data: "cache", "storage"';
    }
    my $r = http_get("/$E/member/", cookie => "qiwei_session=$s3",
                     accept => 'application/json');
    is $r->code, 401, 'an API client with the dead cookie: 401';
    is $r->header('Clear-Site-Data') // '', '"cache", "storage"',
        '... with Clear-Site-Data';
    $r = http_get("$H/login", cookie => "qiwei_session=$s3", html => 1);
    is $r->code, 200, 'the login page';
    $r = http_get($MB, html => 1);
    ok !defined $r->header('Clear-Site-Data'), 'no cookie: no Clear-Site-Data';
    $r = http_get($MB, cookie => 'qiwei_session=garbage', html => 1);
    ok !defined $r->header('Clear-Site-Data'),
        'a malformed cookie: no Clear-Site-Data';
    my (undef, $s4) = login($H, $reader, $rpw);
    $r = get($MB, $s4);
    ok !defined $r->header('Clear-Site-Data'),
        'a live session: no Clear-Site-Data';
    is $r->code, 200, 'logged in again: the mailbox';
    unlike decode_utf8($r->content), qr/\QT $u\E/, '... empty after the wipe';
    is post("$MB/$kept", $s4, [action => 'reveal',
                               csrf => form_field($r->content, 'csrf')
                                       // $csrf])->code, 403,
        "an old page's token does not work for the new session";
    my $c4 = form_field(get("$MB/$kept", $s4)->content, 'csrf');
    ok !defined $c4, 'a wiped message: no form to reveal it';
    is get("$MB/$kept", $s4)->code, 410, 'a wiped message: 410';

    # "sign out all others" from the home page ends a session too
    my (undef, $s5) = login($H, $reader, $rpw);
    my $hc = form_field(get("$H/home", $s4)->content, 'csrf');
    is post("$H/home", $s4, [action => 'others', csrf => $hc])->code, 303,
        'sign out all others';
    $r = get($MB, $s5);
    is $r->code, 302, 'the other session: to the login';
    is $r->header('Clear-Site-Data') // '', '"cache", "storage"',
        '... with Clear-Site-Data';
}

done_testing();
