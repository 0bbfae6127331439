# HEAD and conditional requests on watermarked pages: HEAD gets the headers
# GET gets (RFC 9110 9.3.2): no file ETag, Last-Modified or Content-Length
# of the unmarked file, Cache-Control: private, no-store; and no validator
# of the file or of a back-end ever earns a 304 for a marked page.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use Apache::TestRequest ();
use QiweiTest;

ua_reset();

my $H = '/t82/qiwei';
my $u = uniq();
my $file = Apache::Test::vars('documentroot') . '/wm/page.html';
my $size = -s $file;

seed_enterprise('t82', 'HEAD test');
my $acct = "hd$u";
my $pw = activate_member('t82', $acct, name => 'Head Tester');
my ($lr, $s) = login($H, $acct, $pw);
is $lr->code, 303, 'login';
my $C = "qiwei_session=$s";

sub head_req {
    my ($url, @h) = @_;
    return Apache::TestRequest::HEAD($url, Cookie => $C, @h);
}

# --- HEAD = GET's headers ------------------------------------------------------
{
    my $g = http_get('/t82/static/page.html', cookie => $C, html => 1);
    is $g->code, 200, 'GET: 200';
    like $g->content, qr/id="qiwei-wm"/, '... marked';
    my $h = head_req('/t82/static/page.html');
    is $h->code, 200, 'HEAD: 200';
    is $h->content, '', '... no body';
    for my $r ([GET => $g], [HEAD => $h]) {
        my ($m, $res) = @$r;
        is $res->header('ETag'), undef, "$m: no ETag (the file's is not ours)";
        is $res->header('Last-Modified'), undef, "$m: no Last-Modified";
        like $res->header('Cache-Control') // '', qr/\bprivate\b/,
            "$m: Cache-Control private";
        like $res->header('Cache-Control') // '', qr/\bno-store\b/,
            "$m: ... and no-store";
    }
    isnt $h->header('Content-Length') // '', "$size",
        'HEAD: not the unmarked file\'s Content-Length';
    my $gl = $g->header('Content-Length');
    ok !defined $h->header('Content-Length')
        || (defined $gl && $h->header('Content-Length') == $gl),
        'HEAD: the marked page\'s length, as GET, or none';
}

# --- conditional requests never earn a 304 -------------------------------------
{
    # what anyone may know: the file's validators, from an unmarked copy
    my $open = http_get('/t82/open/page.html');
    my $etag = $open->header('ETag');
    my $lm = $open->header('Last-Modified');
    ok $etag && $lm, 'the unmarked file has ETag and Last-Modified';
    my $plain = http_get('/t82/open/page.html',
                         headers => ['If-None-Match' => $etag]);
    is $plain->code, 304, '... which earn it a 304 there';
    for my $cond (['If-None-Match' => $etag], ['If-None-Match' => '*'],
                  ['If-Modified-Since' => $lm]) {
        my $r = http_get('/t82/static/page.html', cookie => $C, html => 1,
                         headers => $cond);
        is $r->code, 200, "static GET with $cond->[0]: $cond->[1]: 200";
        like $r->content, qr/id="qiwei-wm"/, '... the marked page';
        my $h = head_req('/t82/static/page.html', @$cond);
        is $h->code, 200, "... HEAD too";
    }
    # a back-end that honours If-None-Match answers 304 to its own ETag
    my $be = http_get('/t82/cgi/wm_page.cgi?mode=conditional', cookie => $C,
                      html => 1, headers => ['If-None-Match' => '"cgi-etag-1"']);
    is $be->code, 200, 'CGI back-end: If-None-Match not passed on: 200';
    like $be->content, qr/id="qiwei-wm"/, '... the marked page';
    is $be->header('ETag'), undef, '... without the back-end\'s ETag';
}

# --- not an HTML page: conditionals work as before --------------------------------
{
    my $p = http_get('/t82/static/pixel.png', cookie => $C);
    is $p->code, 200, 'PNG: 200';
    my $et = $p->header('ETag');
    ok $et, '... with its ETag';
    my $r = http_get('/t82/static/pixel.png', cookie => $C,
                     headers => ['If-None-Match' => $et]);
    is $r->code, 304, '... and a 304 for it (only marked pages lose theirs)';
}

done_testing();
