# An article decision is made on one spelling of a path.  Another spelling
# ("//", "/./", "/../", an encoded '/', a trailing dot, '\', a ";x" path
# parameter before the last segment) reaches the same file, script or
# back-end under a name that has no article, which QiweiArticleMissing
# allow would grant: it is refused with 400 in every article location, and
# never served.  The test server runs with MergeSlashes Off, which keeps
# "//" in r->uri: the bypass reported was /wiki//secret.html serving what
# /wiki/secret.html protects there.  (%2F with AllowEncodedSlashes NoDecode,
# a server-wide setting, is covered by the unit tests of util/path.c; with
# the default Off httpd answers it with 404 itself, asserted here.)
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;

ua_reset();
my $log = Apache::Test::vars()->{t_logs} . '/error_log';
my $start = -s $log // 0;

my $H = '/t76/qiwei';
my $u = uniq();
seed_enterprise('t76', '规范路径');
my (%session, %acct);
for my $who (qw(owner other)) {
    $acct{$who} = "$who$u";
    my $pw = activate_member('t76', $acct{$who});
    my ($r, $s) = login($H, $acct{$who}, $pw);
    is $r->code, 303, "$who logs in";
    $session{$who} = $s;
}
# only the owner may read the index file, in both locations
for my $m (['wiki', '/t76/open/index.html'], ['news', '/t76/news/index.html']) {
    qctl_ok(['article', 'add', 't76', $m->[0], $m->[1], '--title', "t $u",
             '--owner', $acct{owner}]);
}

sub get {
    my ($who, $url) = @_;
    return http_get($url, cookie => "qiwei_session=$session{$who}",
                    html => 1);
}

# the second spellings of the protected /t76/<loc>/index.html
my @spellings = (
    ['//index.html', 'empty segment'],
    ['/.//index.html', 'dot and empty segment'],
    ['/./index.html', 'dot segment'],
    ['/x/../index.html', 'dot-dot segment'],
    ['/x/%2e%2E/index.html', 'encoded dot-dot segment'],
    ['/x/..;/index.html', 'dot-dot with a parameter'],
    ['/x%2Findex.html', 'encoded slash'],
    ['/x%2F..%2Findex.html', 'encoded slashes around a dot-dot'],
    ['/x%5Cindex.html', 'encoded backslash'],
    ['/index.html.', 'trailing dot'],
    ['/index.html%2e', 'encoded trailing dot'],
    ['/index.html%20', 'trailing space'],
    ['/x;p/../index.html', 'parameter before the last segment'],
    ['/x;p/index.html', 'parameter on a directory'],
);

{
    my $host = 'MergeSlashes Off';
    for my $loc ('open', 'news') {
        my $t = "($loc)";
        for my $sp (@spellings) {
            my ($tail, $what) = @$sp;
            my $url = "/t76/$loc$tail";
            for my $who (qw(other owner)) {
                my $r = get($who, $url);
                # with AllowEncodedSlashes Off (the default) httpd itself
                # answers %2F with 404 before any module sees the request
                my $want = $tail =~ /%2F/ ? 404 : 400;
                is $r->code, $want, "$what, $who: $want $t";
                unlike $r->content, qr/\Q${\ SECRET}\E/,
                    "$what, $who: no content $t";
            }
        }
        # the one canonical spelling still decides as before
        denied("/t76/$loc/index.html", $session{other},
               "canonical path, not in the audience $t");
        allowed("/t76/$loc/index.html", $session{owner},
                "canonical path, the owner $t");
        allowed("/t76/$loc/index.html?next=//x/../y", $session{owner},
                "a query string is not the path $t");
    }
    # a path with no article of its own: granted where missing articles
    # are, and its second spelling is not
    my $r = get('other', "/t76/open/nothing-$u.html");
    is $r->code, 404, "no article, canonical: granted (no file) ($host)";
    $r = get('other', "/t76/open//nothing-$u.html");
    is $r->code, 400, "no article, second spelling: 400 ($host)";
}
# the refusal is logged with the reason and the canonical path
my $text = '';
if (open my $fh, '<', $log) {
    seek $fh, $start, 0;
    local $/;
    $text = <$fh> // '';
}
like $text, qr{QW0916:\ request\ path\ /t76/open//index\.html
              \ \(sent\ as\ /t76/open//index\.html\)\ from\ \S+\ is\ not
              \ canonical\ \(empty\ segment\ \(//\)\):\ refused;
              \ the\ canonical\ path\ is\ /t76/open/index\.html}x,
    'QW0916 names the reason and the canonical path';

done_testing();
