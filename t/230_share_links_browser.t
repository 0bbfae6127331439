# The Articles screen's share links list (issue 15) in a real browser:
# headless Chromium driven by t/browser/console_check.py.  Two links made
# by the API are listed in the article's panel, newest first, with their
# expiry ("never expires" / "expires <time>"); a link made in the panel
# joins the top of the list with its address; "Revoke" asks first (Cancel
# keeps the link), then revokes one link: it leaves the list, the gate
# refuses it (403) and the other still opens.  1280x800 en and 390x844
# zh-CN, axe-core clean.  A wiki-only sub-admin does not see the news
# article, and the hidden calls forged from the page (list, revoke) are
# refused (403).  Screenshots: $QIWEI_ARTEFACTS/console-share-links-*.png.
#
# Runs only with QIWEI_BROWSER_TEST=1 (like t/220).
use strict;
use warnings FATAL => 'all';
use utf8;

use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Apache::Test ();
use QiweiTest;
use QiweiBrowser;

browser_gate();

ua_reset();
my $u = uniq();
my $E = 't230';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $C = "$H/console/";
articles_enterprise($E, 'Console share links');
seed_department($E, "eng$u", 'Eng');
my $owner = "owner$u";
activate_member($E, $owner, depts => "eng$u");

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($lr, $rc, $rt) = api_login($H, $root, $rootpw);
is $lr->code, 201, 'root: an API session';

my $P = "/$E/news/s-$u.html";
my ($x, $d) = api('POST', "$A/articles", cookie => $rc, csrf => $rt,
                  json => { module => 'news', path => $P, title => 'Shared',
                            owner => $owner,
                            audience => { departments => ["eng$u"] } });
is $x->code, 201, 'a news article';
my $id = $d->{id};
($x) = api('PUT', "$A/articles/$id/share", cookie => $rc, csrf => $rt,
           json => { share => 'on' });
is $x->code, 200, '... sharing on';

sub link_of {
    my (%body) = @_;
    my ($x, $d) = api('POST', "$A/articles/$id/links", cookie => $rc,
                      csrf => $rt, json => \%body);
    is $x->code, 201, 'a link (API)';
    my ($p) = ($d->{url} // '') =~ m{^https?://[^/]+(/\S+)$};
    return ($p, $d->{link_id});
}
my ($p1, $l1) = link_of(expires_in => 7200);
my ($p2, $l2) = link_of();

my $ids = "Array.prototype.map.call(document.querySelectorAll("
        . "'#article-links li'), function(e){ return e.getAttribute("
        . "'data-link-id'); }).join(',')";

# --- 1. root at 1280x800 (en) ------------------------------------------------
my $r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$rc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-table' },
        { click => "tr[data-id=\"$id\"] button.manage" },
        { wait => "#article-links li[data-link-id=\"$l1\"]" },
        { eval => $ids, as => 'ids0' },
        { text => "#article-links li[data-link-id=\"$l1\"] .a-link-info",
          as => 'info1' },
        { text => "#article-links li[data-link-id=\"$l2\"] .a-link-info",
          as => 'info2' },
        { eval => "!!document.querySelector('#article-links input')",
          as => 'url_shown0' },
        { text => '#article-share h4', as => 'heading' },
        { shot => 'console-share-links-1280x800-en.png',
          scroll_to => '#article-share' },
        { axe => 'axe_list_desktop_en' },
        # make one: it joins the top, with its address
        { fill => '#article-link input[name=expires]', value => '1' },
        { click => '#article-link button[type=submit]' },
        { wait => '#article-links li input' },
        { eval => $ids, as => 'ids1' },
        { eval => "document.querySelector('#article-links li input').value",
          as => 'made_url' },
        # revoke L2, but cancel
        { click => "#article-links li[data-link-id=\"$l2\"] button.link-revoke" },
        { wait => "#article-links li[data-link-id=\"$l2\"] .link-revoke-yes" },
        { text => "#article-links li[data-link-id=\"$l2\"] .a-link-confirm",
          as => 'confirm_text' },
        { eval => 'document.activeElement.className', as => 'focus_yes' },
        { axe => 'axe_confirm_desktop_en' },
        { click => "#article-links li[data-link-id=\"$l2\"] .link-revoke-cancel" },
        { wait => "#article-links li[data-link-id=\"$l2\"] button.link-revoke" },
        # revoke L1
        { click => "#article-links li[data-link-id=\"$l1\"] button.link-revoke" },
        { wait => "#article-links li[data-link-id=\"$l1\"] .link-revoke-yes" },
        { shot => 'console-share-links-confirm-1280x800-en.png',
          scroll_to => '#article-share' },
        { click => "#article-links li[data-link-id=\"$l1\"] .link-revoke-yes" },
        { wait => '#article-links-result #action-result' },
        { text => '#article-links-result #action-result', as => 'revoked_msg' },
        { eval => $ids, as => 'ids2' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_desktop_en' },
    ]);
is $r->{ids0}, "$l2,$l1", 'the panel lists both links, newest first';
like $r->{info1} // '', qr/^Link \Q$l1\E: expires .+; made by admin:\d+ at /,
    '... one with its expiry and who made it';
like $r->{info2} // '', qr/^Link \Q$l2\E: never expires;/, '... one never expires';
ok !$r->{url_shown0}, '... no address for a link made before (shown once)';
is $r->{heading}, 'Share links', '... under "Share links"';
axe_clean($r->{axe_list_desktop_en}, 'share links 1280x800 en');
my ($made) = ($r->{ids1} // '') =~ /^([0-9a-f]{16}),/;
ok $made, 'a link made in the panel';
is $r->{ids1}, "$made,$l2,$l1", '... joins the top of the list';
like $r->{made_url} // '', qr{^http://[^/]+\Q$P\E\?qs=[A-Za-z0-9_-]{98}$},
    '... with its address';
like $r->{confirm_text} // '', qr/^Revoke link \Q$l2\E\?/, 'Revoke asks first';
like $r->{focus_yes} // '', qr/link-revoke-yes/, '... focus on the confirmation';
axe_clean($r->{axe_confirm_desktop_en}, 'confirmation 1280x800 en');
like $r->{revoked_msg} // '',
    qr/^Link \Q$l1\E revoked\. Confirmed on every server\./,
    'revoked: said so, confirmed by the barrier';
is $r->{ids2}, "$made,$l2", '... it left the list; Cancel kept the other';
ok $r->{fits_desktop_en}, '1280x800: no sideways scrolling';
is http_get($p1, html => 1)->code, 403, 'the gate refuses the revoked link';
is http_get($p2, html => 1)->code, 200, '... the other one still opens';
($x, $d) = api('GET', "$A/articles/$id/links", cookie => $rc);
is join(',', map { $_->{link_id} } @{ $d->{items} }), "$made,$l2",
    'the API lists the two live links';

# --- 2. root at 390x844 (zh-CN): revoke the one made -------------------------
$r = drive(
    width => 390, height => 844, lang => 'zh-CN',
    cookies => [$rc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-table' },
        { click => "tr[data-id=\"$id\"] button.manage" },
        { wait => "#article-links li[data-link-id=\"$made\"]" },
        { eval => $ids, as => 'ids0' },
        { text => '#article-share h4', as => 'heading' },
        { text => "#article-links li[data-link-id=\"$l2\"] .a-link-info",
          as => 'info2' },
        { text => "#article-links li[data-link-id=\"$made\"] button.link-revoke",
          as => 'button' },
        { shot => 'console-share-links-390x844-zh-CN.png',
          scroll_to => '#article-share' },
        { axe => 'axe_list_phone_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_zh' },
        { click => "#article-links li[data-link-id=\"$made\"] button.link-revoke" },
        { wait => "#article-links li[data-link-id=\"$made\"] .link-revoke-yes" },
        { axe => 'axe_confirm_phone_zh' },
        { click => "#article-links li[data-link-id=\"$made\"] .link-revoke-yes" },
        { wait => '#article-links-result #action-result' },
        { text => '#article-links-result #action-result', as => 'revoked_msg' },
        { eval => $ids, as => 'ids1' },
    ]);
is $r->{ids0}, "$made,$l2", 'zh-CN 390x844: the two live links';
is $r->{heading}, '分享链接', '... under 分享链接';
like $r->{info2} // '', qr/^链接 \Q$l2\E：永不过期；/, '... the expiry in Chinese';
is $r->{button}, '作废', '... the button';
axe_clean($r->{axe_list_phone_zh}, 'share links 390x844 zh-CN');
axe_clean($r->{axe_confirm_phone_zh}, 'confirmation 390x844 zh-CN');
ok $r->{fits_phone_zh}, '390x844: no sideways scrolling';
like $r->{revoked_msg} // '', qr/^链接 \Q$made\E 已作废。/, '... revoked';
is $r->{ids1}, $l2, '... one link left';

# --- 3. a wiki-only sub-admin: no news article; forged calls refused --------
my ($sr, $sc) = api_sub_admin($E, $H, "wiki$u", "wikis$u", 'wiki');
is $sr->code, 201, 'wiki sub-admin: an API session';
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
my $refused0 = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
                   . " AND result = 'refused' AND module = 'news'");
$r = drive(
    width => 390, height => 844, lang => 'en',
    cookies => [$sc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-list' },
        { wait_js => "!!document.querySelector('#articles-table, "
                   . "#articles-empty')" },
        { eval => "!!document.querySelector('tr[data-id=\"$id\"]')",
          as => 'sees_news' },
        { eval => "fetch('../api/v1/articles/$id/links').then(function(r){"
                . " return r.status; })", as => 'forged_list' },
        { eval => "fetch('../api/v1/session').then(function(r){"
                . " return r.json(); }).then(function(s){"
                . " return fetch('../api/v1/articles/$id/links/$l2',"
                . " {method: 'DELETE', headers: {'X-CSRF-Token': s.csrf}});"
                . " }).then(function(r){ return r.status; })",
          as => 'forged_delete' },
    ]);
ok !$r->{sees_news}, 'wiki sub-admin: the news article is not listed';
is $r->{forged_list}, 403, '... a forged list of its links: 403';
is $r->{forged_delete}, 403, '... a forged revoke: 403';
is http_get($p2, html => 1)->code, 200, '... the link still opens';
is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
       . " AND result = 'refused' AND module = 'news'"), $refused0 + 2,
    '... the two refusals logged';

done_testing();
