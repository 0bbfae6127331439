# The per-viewer watermark (R9, issue 4) through a real httpd: static files,
# a CGI, a mod_proxy back-end, gzip back-ends, pages with their own CSP,
# hostile display names, and the responses that must pass untouched.
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Apache::TestRequest ();
use Encode qw(decode_utf8 encode_utf8);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use QiweiTest;

ua_reset();

my $H = '/t80/qiwei';
my $u = uniq();
my $docs = Apache::Test::vars('documentroot') . '/wm';

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or die "$f: $!\n";
    local $/;
    return scalar <$fh>;
}

sub ungz {
    my ($z) = @_;
    my $out;
    return gunzip(\$z => \$out) ? $out : undef;
}

seed_enterprise('t80', '水印测试');
my %who = (
    plain   => 'Alice Tester',
    hostile => q{<script>alert(1)</script>"'&{id}},
    cjk     => '张三🐼 测试',
);
my (%sess, %short);
for my $k (sort keys %who) {
    my $acct = "$k$u";
    my $pw = activate_member('t80', $acct, name => $who{$k});
    my ($lr, $s) = login($H, $acct, $pw);
    die "login $acct: " . $lr->code . "\n" unless $lr->code == 303 && $s;
    $sess{$k} = "qiwei_session=$s";
    # the member id, as the CGI environment tells it (text/plain: no mark)
    my $e = http_get('/t80/cgi/env.cgi', cookie => $sess{$k});
    my ($id) = $e->content =~ /^QIWEI_MEMBER_ID=([0-9]+)$/m;
    die "no member id for $acct\n" unless defined $id;
    $short{$k} = '#' . substr(sprintf('%04d', $id), -4);
}
my $S = $sess{plain};

sub get {
    my ($url, %o) = @_;
    my $c = delete $o{as} // 'plain';
    return http_get($url, cookie => $sess{$c}, html => 1, %o);
}

# The watermark was inserted exactly once, at byte $pos of the original
# $orig, and nothing else changed.
sub inserted_at {
    my ($body, $orig, $pos, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is wm_count($body), 1, "$name: exactly one watermark";
    my $re = wm_markup_re();
    my $at = $body =~ $re ? $-[0] : -1;
    is $at, $pos, "$name: inserted at byte $pos";
    ok wm_strip($body) eq $orig,
        "$name: the rest of the response is the original, byte for byte";
}

# Headers of a watermarked response: the producer's validators and length
# are gone, and no shared cache may keep it.
sub wm_headers {
    my ($r, $name, $orig_len) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $cl = $r->header('Content-Length');
    ok !defined $cl || $cl == length $r->content,
        "$name: no stale Content-Length" . (defined $cl ? " ($cl)" : '');
    isnt $cl // -1, $orig_len, "$name: ... not the original length"
        if defined $orig_len;
    ok !defined $r->header('ETag'), "$name: no ETag";
    ok !defined $r->header('Content-MD5'), "$name: no Content-MD5";
    is join(', ', $r->header('Cache-Control')), 'private, no-store',
        "$name: Cache-Control: private, no-store";
}

my $TEXT_RE = sub {
    my ($k) = @_;
    return qr/^\Q$who{$k}\E \Q$short{$k}\E \d{4}-\d\d-\d\d \d\d:\d\d$/;
};

# --- static file ----------------------------------------------------------------
my $page = slurp("$docs/page.html");
my $tag = '<BODY class="light" data-note="a>b">';
my $after_body = index($page, $tag) + length $tag;
{
    my $r = get('/t80/static/page.html');
    is $r->code, 200, 'static page: 200';
    like $r->header('Content-Type'), qr{^text/html}, '... text/html';
    inserted_at($r->content, $page, $after_body,
                'static page (body in a comment and a script before it)');
    wm_headers($r, 'static page', -s "$docs/page.html");
    like wm_text($r->content) // '', $TEXT_RE->('plain'),
        'the text is "name #id date time" of this viewer';
    my $svg = wm_svg($r->content) // '';
    like $svg, qr/opacity="0\.100"/, 'default opacity 10%';
    like $svg, qr/rotate\(-24 /, 'default angle -24';
    like $svg, qr/fill="#1f1f1f" stroke="#ffffff"/,
        'default dark fill, light outline';
    like $r->content, qr/pointer-events:none!important/,
        'overlay lets taps through';
    like $r->content, qr/print-color-adjust:exact!important/,
        'overlay is kept in print';
    is wm_nonce($r->content), undef,
        'no CSP on the page: no nonce on the watermark\'s <style>';
}

# --- a page without <body>: at the end ----------------------------------------
{
    my $orig = slurp("$docs/nobody.html");
    my $r = get('/t80/static/nobody.html');
    is $r->code, 200, 'page without <body>: 200';
    inserted_at($r->content, $orig, length $orig,
                'page without <body>: at the end');
}

# --- a large file: the filter reads its start, the rest passes as a file -------
# (the part left after the filter's read is handed on as a file bucket and,
# past 64 KB, mapped again: the page must come out whole either way)
for my $kb (20, 400) {
    my $name = "big$kb.html";
    my $orig = "<!doctype html><html><head><title>big</title></head>"
        . "<body>\n" . join('', map { sprintf "<p>line %06d %s</p>\n", $_,
                                      'x' x 40 } 1 .. $kb * 16)
        . "</body></html>\n";
    open my $fh, '>', "$docs/$name" or die "$docs/$name: $!";
    print $fh $orig;
    close $fh;
    my $r = get("/t80/static/$name");
    is $r->code, 200, "$kb KB page: 200";
    is wm_count($r->content), 1, "$kb KB page: one watermark";
    inserted_at($r->content, $orig, index($orig, "<body>\n") + 6,
                "$kb KB page: after <body>, the rest intact");
    unlink "$docs/$name";
}

# --- scan limit and the look directives ---------------------------------------
{
    my $orig = slurp("$docs/longhead.html");
    my $r = get('/t80/static/longhead.html');
    inserted_at($r->content, $orig, index($orig, "<body>\n") + 6,
                'long head, default limit: after <body>');
    $r = get('/t80/limit/longhead.html');
    inserted_at($r->content, $orig, length $orig,
                'long head, QiweiWatermarkScanLimit 1: at the end');
    like wm_text($r->content) // '',
        qr/^ID \Q$short{plain}\E \/ \Q$who{plain}\E$/,
        'QiweiWatermarkText template';
    my $svg = wm_svg($r->content) // '';
    like $svg, qr/opacity="0\.300"/, 'QiweiWatermarkOpacity 30';
    like $svg, qr/rotate\(-45 /, 'QiweiWatermarkAngle -45';
    like $svg, qr/font-size="20"/, 'QiweiWatermarkFontSize 20';
    like $svg, qr/fill="#102030" stroke="#fafafa"/,
        'QiweiWatermarkColor / QiweiWatermarkOutline';
    my ($w, $h) = $svg =~ /<svg[^>]* width="(\d+)" height="(\d+)"/;
    ok(($w // 0) >= 300 && ($h // 0) >= 200, 'QiweiWatermarkSpacing 300 200')
        or diag "tile ${\ ($w // '?')}x${\ ($h // '?')}";
}

# --- HEAD and 304 (t/82_watermark_head.t has more); untouched: non-HTML, no
# viewer, watermark off ------------------------------------------------------
{
    # HEAD gets GET's header edits (RFC 9110 9.3.2), not the file's
    my $r = Apache::TestRequest::HEAD('/t80/static/page.html', Cookie => $S);
    is $r->code, 200, 'HEAD: 200';
    is $r->content, '', 'HEAD: no body';
    isnt $r->header('Content-Length') // '', -s "$docs/page.html",
        'HEAD: not the file\'s Content-Length';
    ok !defined $r->header('ETag'), 'HEAD: no ETag (as GET)';
    like $r->header('Cache-Control') // '', qr/no-store/,
        'HEAD: Cache-Control as GET';

    # the file's Last-Modified earns no 304 for a marked page
    my $lm = Apache::TestRequest::GET('/t80/static/plain.txt', Cookie => $S)
             ->header('Last-Modified');
    ok defined $lm, 'static file has Last-Modified';
    $r = get('/t80/static/page.html',
             headers => ['If-Modified-Since' => $lm // '']);
    is $r->code, 200, 'If-Modified-Since on a marked page: 200, not 304';
    like $r->content, qr/id="qiwei-wm"/, '... the marked page';

    for my $f (qw(plain.txt pixel.png)) {
        my $orig = slurp("$docs/$f");
        $r = get("/t80/static/$f");
        is $r->code, 200, "$f: 200";
        ok $r->content eq $orig, "$f: untouched";
        ok defined $r->header('ETag'), "$f: ETag kept";
        is $r->header('Content-Length'), length $orig,
            "$f: Content-Length kept";
    }
    $r = get('/t80/static/plain.txt', headers => [Range => 'bytes=5-14']);
    is $r->code, 206, 'Range on text/plain: 206';
    is $r->content, substr(slurp("$docs/plain.txt"), 5, 10),
        '... the requested bytes';

    $r = http_get('/t80/open/page.html', html => 1);
    is $r->code, 200, 'no viewer (no AuthType): 200';
    ok $r->content eq $page, 'no viewer: no watermark, page untouched';
    ok defined $r->header('ETag'), 'no viewer: ETag kept';

    $r = get('/t80/nowm/page.html');
    ok $r->code == 200 && $r->content eq $page,
        'QiweiWatermark not set: page untouched';
}

# --- Range on a watermarked page: the whole page, watermarked -----------------
# A byte range of a per-viewer, per-response body would not fit any other
# response, and a range must not be a way to get the page unmarked.
{
    my $r = get('/t80/static/page.html', headers => [Range => 'bytes=0-599']);
    is $r->code, 200, 'Range on a watermarked page: 200 (range ignored)';
    ok !defined $r->header('Content-Range'), '... no Content-Range';
    inserted_at($r->content, $page, $after_body, 'Range on watermarked page');
}

# --- CGI back-end -----------------------------------------------------------------
my $CGI = '/t80/cgi/wm_page.cgi';
my $BE = '/t80/be/cgi/wm_page.cgi';
sub backend {
    my ($mode) = @_;
    my $r = http_get("$BE?mode=$mode", html => 1);
    die "back-end $mode: " . $r->code . "\n" unless $r->code =~ /^20/;
    return $r->content;
}
my $cgi_page = backend('plain');
my $cgi_at = index($cgi_page, '<body class="cgi">') + 18;
{
    unlike $cgi_page, qr/qiwei-wm/, 'the unprotected back-end is unmarked';
    my $r = get("$CGI?mode=plain");
    is $r->code, 200, 'CGI: 200';
    inserted_at($r->content, $cgi_page, $cgi_at, 'CGI');
    wm_headers($r, 'CGI (sent Content-Length, ETag, public)',
               length $cgi_page);

    my $split = backend('split');
    my $at = index($split, 'data-n="<body>">') + 16;
    $r = get("$CGI?mode=split");
    inserted_at($r->content, $split, $at,
                'CGI printing "<bo" "dy cl" "ass=\'x>" ... in flushed pieces');

    my $nb = backend('nobody');
    $r = get("$CGI?mode=nobody");
    inserted_at($r->content, $nb, length $nb, 'CGI without <body>');

    my $x = backend('xhtml');
    $r = get("$CGI?mode=xhtml");
    inserted_at($r->content, $x, index($x, '<body>') + 6,
                'application/xhtml+xml');

    $r = get("$CGI?mode=partial");
    is $r->code, 206, 'CGI answering 206: 206';
    is $r->content, substr($cgi_page, 0, 100), '206: untouched';
    like $r->header('Content-Range') // '', qr{^bytes 0-99/},
        '206: Content-Range kept';

    $r = get("$CGI?mode=text");
    is $r->content, "QIWEI-WM-TEXT <body> plain\n", 'CGI text/plain untouched';

    $r = Apache::TestRequest::HEAD("$CGI?mode=plain", Cookie => $S);
    is $r->code, 200, 'HEAD on the CGI: 200';
    is $r->content, '', 'HEAD on the CGI: no body';
}

# --- mod_proxy back-end ----------------------------------------------------------
{
    my $r = get('/t80/proxy/static/page.html');
    is $r->code, 200, 'proxied static page: 200';
    inserted_at($r->content, $page, $after_body, 'proxied static page');
    wm_headers($r, 'proxied static page', -s "$docs/page.html");

    $r = get('/t80/proxy/cgi/wm_page.cgi?mode=plain');
    inserted_at($r->content, $cgi_page, $cgi_at, 'proxied CGI');

    my $split = backend('split');
    $r = get('/t80/proxy/cgi/wm_page.cgi?mode=split');
    inserted_at($r->content, $split, index($split, 'data-n="<body>">') + 16,
                'proxied CGI in flushed pieces (brigade boundaries)');
}

# --- gzip from the back-end --------------------------------------------------------
my @gz = (headers => ['Accept-Encoding' => 'gzip']);
{
    # controls: the back-ends do compress when they are asked to
    my $c = http_get("$BE?mode=gzip", @gz);
    is $c->header('Content-Encoding') // '', 'gzip',
        'control: the CGI compresses when the request accepts gzip';
    $c = http_get('/t80/be/gz/page.html', @gz);
    is $c->header('Content-Encoding') // '', 'gzip',
        'control: the DEFLATE back-end compresses when asked';

    my $r = get("$CGI?mode=gzip", @gz);
    is $r->header('X-Saw-Accept-Encoding'), 'none',
        'CGI: Accept-Encoding withheld from the back-end';
    ok !defined $r->header('Content-Encoding'), '... so it answers identity';
    inserted_at($r->content, $cgi_page, $cgi_at, '... and it is watermarked');

    $r = get('/t80/proxy/gz/page.html', @gz);
    is $r->code, 200, 'proxied DEFLATE back-end: 200';
    ok !defined $r->header('Content-Encoding'),
        'proxy: Accept-Encoding withheld, the back-end did not compress';
    inserted_at($r->content, $page, $after_body, 'proxied DEFLATE back-end');

    for my $url ("$CGI?mode=gzip-always",
                 '/t80/proxy/cgi/wm_page.cgi?mode=gzip-always') {
        $r = get($url, @gz);
        is $r->code, 200, "$url: 200";
        is $r->header('Content-Encoding') // '', 'gzip',
            "$url: the producer's gzip is passed on";
        my $plain = ungz($r->content);
        ok defined $plain && $plain eq $cgi_page,
            "$url: not corrupted (gunzip gives the page)"
            or diag $GunzipError;
        is wm_count($plain // ''), 0, "$url: left without watermark";
    }

    # mod_deflate on the watermarked location compresses after the filter
    $r = get('/t80/gzfront/page.html', @gz);
    is $r->header('Content-Encoding') // '', 'gzip',
        'DEFLATE after the watermark: the client gets gzip';
    my $plain = ungz($r->content) // '';
    inserted_at($plain, $page, $after_body, 'DEFLATE after the watermark');
    $r = get('/t80/gzfront/page.html');
    ok !defined $r->header('Content-Encoding'),
        'without Accept-Encoding: identity';
    inserted_at($r->content, $page, $after_body, '... watermarked');
}

# --- Content-Security-Policy --------------------------------------------------------
sub csp_of {
    my ($r) = @_;
    my @v = $r->header('Content-Security-Policy');
    my %d;
    for my $p (split /;/, $v[0] // '') {
        $p =~ s/^\s+|\s+$//g;
        my ($n, $s) = split /\s+/, $p, 2;
        $d{lc $n} = $s // '' if defined $n && !exists $d{lc $n};
    }
    return (scalar @v, \%d);
}
{
    my $sent = "default-src 'self'; img-src 'self' data:; "
             . "style-src 'nonce-PageNonce123'; script-src 'none'";
    my $r = get("$CGI?mode=csp-nonce");
    is wm_nonce($r->content), 'PageNonce123',
        'page CSP with a style nonce: the watermark reuses it';
    is $r->header('Content-Security-Policy'), $sent,
        '... and the policy is left as it was';
    like $r->content, qr/<style nonce="PageNonce123">p\{color:#333\}/,
        '... the page\'s own style is intact';
    is wm_count($r->content), 1, '... one watermark';

    $r = get("$CGI?mode=csp-strict");
    my $n = wm_nonce($r->content) // '';
    like $n, qr/^[A-Za-z0-9_-]{22}$/, 'strict CSP: the watermark has a nonce';
    my $r2 = get("$CGI?mode=csp-strict");
    my $n2 = wm_nonce($r2->content) // '';
    like $n2, qr/^[A-Za-z0-9_-]{22}$/, '... on every response';
    isnt $n2, $n, '... a new one each time';
    like $r2->header('Content-Security-Policy'), qr/'nonce-\Q$n2\E'/,
        '... named by that response\'s policy';
    my ($count, $d) = csp_of($r);
    is $count, 1, '... one CSP header';
    is $d->{'default-src'}, "'self'", '... default-src unchanged';
    is $d->{'style-src'}, "'self' 'nonce-$n'",
        '... style-src = default-src sources + our nonce';
    is $d->{'img-src'}, "'self' data:",
        '... img-src = default-src sources + data:';
    is $d->{'script-src'}, "'none'", '... script-src unchanged';
    is $d->{'object-src'}, "'none'", '... object-src unchanged';
    ok !grep({ /unsafe-inline/ } values %$d), '... no unsafe-inline added';
}

{
    # Two policies, which httpd hands on joined by a comma ("img-src
    # 'self', script-src 'none'"): each is rewritten on its own.  Read as
    # one policy, the data: added at its end landed in the second policy's
    # script-src ("script-src 'none' data:"), letting data: scripts run.
    my $r = get("$CGI?mode=csp-two");
    is wm_count($r->content), 1, 'two CGI policies: one watermark';
    my @pol = map { s/^\s+|\s+$//gr } map { split /,/ }
              $r->header('Content-Security-Policy');
    note 'CSP sent: ' . join(' | ', $r->header('Content-Security-Policy'));
    is scalar(@pol), 2, '... still two policies';
    my ($script) = grep { /script-src/ } @pol;
    my ($img) = grep { /img-src/ } @pol;
    is $script, "script-src 'none'", "... script-src 'none' untouched";
    is $img, "img-src 'self' data:", '... data: added to img-src only';
}

# --- hostile and non-ASCII display names ---------------------------------------------
for my $k (qw(hostile cjk)) {
    my $r = get('/t80/static/page.html', as => $k);
    my $body = $r->content;
    inserted_at($body, $page, $after_body, "$k name");
    my $raw = encode_utf8($who{$k});
    ok index($body, $raw) < 0, "$k name: never appears raw in the page";
    like wm_text($body) // '', $TEXT_RE->($k),
        "$k name: drawn exactly, {id} in a name is not expanded";
    for my $frag ('<script>alert', 'alert(1)', '"\'&', '</script>"') {
        ok index($body, $frag) < 0, "$k name: no raw '$frag'";
    }
    my $scripts = () = $body =~ /<script/gi;
    is $scripts, 1, "$k name: only the page's own <script>";
    my $svg = wm_svg($body) // '';
    unlike $svg, qr/<script/i, "$k name: no element injected into the SVG";
}
{
    my $r = get('/t80/cgi/wm_page.cgi?mode=csp-strict', as => 'hostile');
    is wm_count($r->content), 1, 'hostile name on a CSP page: one watermark';
}

done_testing();
