# The console's Articles screen (issue 15) in a real browser: headless
# Chromium driven by t/browser/console_check.py.  The super admin (an API
# session handed to the browser) lists the articles by module, creates a
# confidential one with a hostile title and an audience (a department),
# edits the audience (a named member), the responsible person, the
# watermark, switches sharing on, makes a link with an expiry, uploads a
# body from a file input; a member then reads it and the readers table
# shows the read.  1280x800 and 390x844, en and zh-CN, axe-core clean,
# hostile titles as text.  A news-only sub-admin sees only news and the
# wiki calls the UI hides, forged from the page, are refused (403); a
# directory-only sub-admin has no Articles screen and a forged create is
# refused.  Screenshots: $QIWEI_ARTEFACTS/console-articles-*.png.
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

# --- an enterprise, articles, admins ------------------------------------------
ua_reset();
my $u = uniq();
my $E = 't227';
my $H = "/$E/qiwei";
my $A = "$H/api/v1";
my $C = "$H/console/";
my $hostile = q{<img src=x onerror="document.title='PWNED'"> "Q1" & 'news'};
articles_enterprise($E, 'Console articles');
seed_department($E, "eng$u", 'Eng');
seed_department($E, "ops$u", 'Ops');
my $owner = "owner$u";
activate_member($E, $owner, depts => "eng$u");
my $reader = "rd$u";
my $rpw = activate_member($E, $reader, depts => "ops$u");

my $root = "root$u";
my $rootpw = admin_add($E, $root, super => 1);
my ($lr, $rc, $rt) = api_login($H, $root, $rootpw);
is $lr->code, 201, 'root: an API session';

my ($x, $d) = api('POST', "$A/articles", cookie => $rc, csrf => $rt,
                  json => { module => 'news', path => "/$E/news/old-$u.html",
                            title => $hostile, owner => $owner });
is $x->code, 201, 'a news article with a hostile title';
my $old = $d->{id};
($x, $d) = api('POST', "$A/articles", cookie => $rc, csrf => $rt,
               json => { module => 'wiki', path => "/$E/wiki/w-$u.html",
                         title => 'Wiki page', owner => $owner });
is $x->code, 201, 'a wiki article';
my $wid = $d->{id};
my $P = "/$E/news/new-$u.html";
my $title2 = q{<b onmouseover=alert(1)>New</b> 新文章};

# --- 1. root at 1280x800 (en), then 390x844 ---------------------------------
my $upload = "(function(){var i=document.querySelector("
    . "'#article-upload input[type=file]');var dt=new DataTransfer();"
    . "dt.items.add(new File(['<p>body-$u</p>'],'b.html',"
    . "{type:'text/html'}));i.files=dt.files;"
    . "i.dispatchEvent(new Event('change'));"
    . "return document.querySelector('#article-upload input[name=type]')"
    . ".value})()";
my $r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$rc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-table' },
        { text => '#screen-title', as => 'title_en' },
        { text => "tr[data-id=\"$old\"] .a-title", as => 'hostile_text' },
        { eval => "document.querySelectorAll('#articles-table tbody tr')"
                . '.length', as => 'rows_all' },
        { eval => "document.querySelectorAll('img[src=\"x\"], b[onmouseover]')"
                . '.length', as => 'hostile_elements' },
        { eval => 'document.title', as => 'doc_title' },
        { shot => 'console-articles-1280x800-en.png' },
        { axe => 'axe_list_desktop_en' },
        # by module
        { select => '#articles-filter select[name=module]', value => 'wiki' },
        { click => '#articles-filter button[type=submit]' },
        { wait_js => "document.querySelectorAll('#articles-table tbody tr')"
                   . ".length === 1 && !!document.querySelector("
                   . "'tr[data-id=\"$wid\"]')" },
        { select => '#articles-filter select[name=module]', value => '' },
        { click => '#articles-filter button[type=submit]' },
        { wait_js => "document.querySelectorAll('#articles-table tbody tr')"
                   . '.length === 2' },
        # create
        { click => '#article-new' }, { wait => '#article-create' },
        { select => '#article-create select[name=module]', value => 'news' },
        { fill => '#article-create input[name=path]', value => $P },
        { fill => '#article-create input[name=title]', value => $title2 },
        { fill => '#article-create input[name=owner]', value => $owner },
        { click => '#article-create input[name=confidential]' },
        { click => "#article-create input[name=dept][value=\"eng$u\"]" },
        { shot => 'console-articles-create-1280x800-en.png',
          scroll_to => '#article-create' },
        { axe => 'axe_create_desktop_en' },
        { click => '#article-create button[type=submit]' },
        { wait => '.article-result #action-result' },
        { text => '.article-result #action-result', as => 'created' },
        { eval => "document.querySelector('.article-result #action-result')"
                . ".getAttribute('data-revocation')", as => 'created_rev' },
        { eval => "document.querySelectorAll('b[onmouseover]').length",
          as => 'hostile_elements2' },
        # a new title (hostile too)
        { fill => '#article-title input[name=title]', value => "$title2 v2" },
        { click => '#article-title button[type=submit]' },
        { wait => '.article-result #action-result', text => 'Title saved' },
        { eval => "document.querySelectorAll('b[onmouseover]').length",
          as => 'hostile_elements3' },
        # the audience: a named member too
        { fill => '#article-audience input[name=members]', value => $reader },
        { click => '#article-audience button[type=submit]' },
        { wait => '.article-result #action-result', text => 'Audience saved' },
        # responsible
        { fill => '#article-people input[name=responsible]', value => $owner },
        { click => '#article-people button[type=submit]' },
        { wait => '.article-result #action-result', text => 'Persons saved' },
        # watermark off
        { select => '#article-flags select[name=watermark]', value => 'off' },
        { click => '#article-flags button[type=submit]' },
        { wait => '.article-result #action-result', text => 'Watermark saved' },
        { text => '.article-result #action-result', as => 'wm_text' },
        # sharing on, a link for 24 hours
        { click => '[data-share=on]' },
        { wait => '[data-share=revoke]' },
        { fill => '#article-link input[name=expires]', value => '24' },
        { click => '#article-link button[type=submit]' },
        { wait => '#article-links li input' },
        { eval => "document.querySelector('#article-links li input').value",
          as => 'link_url' },
        { text => '#article-links li label', as => 'link_label' },
        { shot => 'console-articles-share-1280x800-en.png',
          scroll_to => '#article-share' },
        { axe => 'axe_panel_desktop_en' },
        # upload a body
        { text => '#article-upload-rules', as => 'rules' },
        { eval => $upload, as => 'upload_type' },
        { click => '#article-upload button[type=submit]' },
        { wait => '.article-result #action-result', text => 'Body uploaded' },
        { text => '#article-body-sec', as => 'body_sec' },
        { eval => "document.querySelectorAll('#article-links li').length",
          as => 'links_kept' },
        # kill every link: the list empties, the link is dead (below)
        { click => '[data-share=revoke]' },
        { wait => '.article-result #action-result', text => 'Sharing saved' },
        { eval => "document.querySelectorAll('#article-links li').length",
          as => 'links_after_revoke' },
        # the phone
        { size => [390, 844] },
        { shot => 'console-articles-panel-390x844-en.png',
          scroll_to => '#article-panel' },
        { axe => 'axe_panel_phone_en' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_en' },
    ]);
is $r->{title_en}, 'Articles', 'root: the Articles screen (en)';
is $r->{hostile_text}, $hostile, 'a hostile title shows as text';
is $r->{hostile_elements}, 0, '... no element made of it';
is $r->{doc_title}, 'Admin console', '... the page title untouched';
is $r->{rows_all}, 2, 'the list: both modules';
axe_clean($r->{axe_list_desktop_en}, 'list 1280x800 en');
axe_clean($r->{axe_create_desktop_en}, 'create 1280x800 en');
like $r->{created} // '', qr/^Article \d+ created\. Confirmed on every server\./,
    'create: the result, confirmed';
is $r->{created_rev}, 'confirmed', '... Qiwei-Revocation confirmed';
is $r->{hostile_elements2}, 0, '... the hostile title as text in the panel';
my $id = sql("SELECT article_id FROM articles WHERE path = '$P'");
ok $id, '... the article exists';
($x, $d) = api('GET', "$A/articles/$id", cookie => $rc);
is $d->{title}, "$title2 v2", '... its new title as typed';
is $r->{hostile_elements3}, 0, '... shown as text';
ok $d->{confidential}, '... confidential';
is_deeply $d->{audience}{departments}, ["eng$u"], '... audience: the department';
is_deeply $d->{audience}{members}, [$reader], '... and the named member';
is_deeply $d->{responsible}, [$owner], '... responsible';
is $d->{watermark}, 'off', '... watermark off';
like $r->{wm_text} // '', qr/Watermark saved/, '... said so';
ok $d->{share}{enabled}, '... sharing on';
like $r->{link_url} // '', qr{^http://[^/]+\Q$P\E\?qs=[A-Za-z0-9_-]{98}$},
    'a share link is shown';
like $r->{link_label} // '', qr/expires /, '... with its expiry';
axe_clean($r->{axe_panel_desktop_en}, 'panel 1280x800 en');
like $r->{rules} // '', qr/scripts, forms, frames/, 'the upload says what a body may hold';
is $r->{upload_type}, 'text/html; charset=utf-8', '... the type from the file';
is $d->{body}{type}, 'text/html; charset=utf-8', '... the body is stored';
like $r->{body_sec} // '', qr{text/html; charset=utf-8 \(\d+ B\)}, '... shown';
is $r->{links_kept}, 1, 'the link made stays listed after the next change';
is $r->{links_after_revoke}, 0, '"kill every link": the list is emptied';
axe_clean($r->{axe_panel_phone_en}, 'panel 390x844 en');
ok $r->{fits_phone_en}, '390x844: no sideways scrolling';

# the member reads it (confidential: logged), an outsider opens the link
my (undef, $rs) = login($H, $reader, $rpw);
ok $rs, 'the member logs in';
is http_get($P, cookie => "qiwei_session=$rs", html => 1)->code, 200,
    'the member reads the new article';
my ($lpath) = ($r->{link_url} // '') =~ m{^https?://[^/]+(/\S+)$};
isnt http_get($lpath // '/', html => 1)->code, 200,
    'the killed link no longer opens';
($x, $d) = api('POST', "$A/articles/$id/links", cookie => $rc, csrf => $rt,
               json => {});
is $x->code, 201, 'a new link (API)';
($lpath) = ($d->{url} // '') =~ m{^https?://[^/]+(/\S+)$};
is http_get($lpath // '/', html => 1)->code, 200, 'an outsider opens it';

# --- 2. root at 390x844 (zh-CN), then 1280x800: who read it ---------------
$r = drive(
    width => 390, height => 844, lang => 'zh-CN',
    cookies => [$rc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-table' },
        { text => '#screen-title', as => 'title_zh' },
        { shot => 'console-articles-390x844-zh-CN.png' },
        { axe => 'axe_list_phone_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_phone_zh' },
        { click => "tr[data-id=\"$id\"] button.manage" },
        { wait => '#article-readers-show' },
        { click => '#article-readers-show' },
        { wait => '#article-readers-table' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#article-readers-table .a-reader'), function(e){"
                . " return e.textContent; })", as => 'readers' },
        { shot => 'console-articles-readers-390x844-zh-CN.png',
          scroll_to => '#article-readers' },
        { axe => 'axe_readers_phone_zh' },
        { size => [1280, 800] },
        { shot => 'console-articles-readers-1280x800-zh-CN.png',
          scroll_to => '#article-readers' },
        { axe => 'axe_readers_desktop_zh' },
        { eval => 'document.documentElement.scrollWidth <= window.innerWidth',
          as => 'fits_desktop_zh' },
    ]);
is $r->{title_zh}, '文章', 'zh-CN: 文章';
axe_clean($r->{axe_list_phone_zh}, 'list 390x844 zh-CN');
ok $r->{fits_phone_zh}, '390x844 zh-CN: no sideways scrolling';
my $mid = sql("SELECT member_id FROM members m JOIN enterprises e USING"
              . " (enterprise_id) WHERE e.code = '$E' AND account = '$reader'");
is scalar @{ $r->{readers} // [] }, 2, 'who read it: two reads';
like $r->{readers}[0] // '', qr/^external:[0-9a-f]{16}$/, '... the link, newest';
is $r->{readers}[1], "member:$mid $reader", '... then the member';
axe_clean($r->{axe_readers_phone_zh}, 'readers 390x844 zh-CN');
axe_clean($r->{axe_readers_desktop_zh}, 'readers 1280x800 zh-CN');
ok $r->{fits_desktop_zh}, '1280x800 zh-CN: no sideways scrolling';

# --- 2b. a change answered after the admin opened another article ----------
# The wiki article's new title is held on its way while the admin opens
# the news article's panel: the late answer (an article, which redraws the
# panel) must not replace the panel now shown; the list still shows it.
$r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$rc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" },
        { wait => "tr[data-id=\"$wid\"] button.manage" },
        { click => "tr[data-id=\"$wid\"] button.manage" },
        { wait => '#article-title input[name=title]' },
        { fill => '#article-title input[name=title]', value => "Late $u" },
        { hold => "*/api/v1/articles/$wid/title" },
        { click => '#article-title button[type=submit]' },
        { held => "articles/$wid/title" },
        { click => "tr[data-id=\"$old\"] button.manage" },
        { wait => '#article-panel h2', text => "Article $old:" },
        { release => 1 },
        { wait => "tr[data-id=\"$wid\"] .a-title", text => "Late $u" },
        { settle => 1 },
        { text => '#article-panel h2', as => 'panel_after' },
        { eval => "document.querySelectorAll('#article-panel"
                . " #action-result').length", as => 'result_after' },
    ]);
is sql("SELECT title FROM articles WHERE article_id = $wid"), "Late $u",
    'a held title change: done once released';
like $r->{panel_after} // '', qr/^Article \Q$old\E:/,
    '... its late answer did not replace the panel opened meanwhile';
is $r->{result_after}, 0, '... nor put its result in that panel';

# --- 3. a news-only sub-admin: only news; forged wiki calls refused ---------
my $sub = "news$u";
my ($sr, $sc) = api_sub_admin($E, $H, $sub, "office$u", 'news');
is $sr->code, 201, 'news sub-admin: an API session';
my $eid = sql("SELECT enterprise_id FROM enterprises WHERE code = '$E'");
my $refused0 = sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
                   . " AND result = 'refused' AND module = 'wiki'");
$r = drive(
    width => 390, height => 844, lang => 'en',
    cookies => [$sc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#articles-table' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#articles-filter select[name=module] option'),"
                . " function(o){ return o.value; }).join(',')",
          as => 'sub_modules' },
        { eval => "document.querySelectorAll('#articles-table tbody tr')"
                . '.length', as => 'sub_rows' },
        { eval => "!!document.querySelector('tr[data-id=\"$wid\"]')",
          as => 'sub_sees_wiki' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#nav a'), function(a){ return a.getAttribute("
                . "'data-screen'); }).join(',')", as => 'sub_nav' },
        { shot => 'console-articles-subadmin-390x844-en.png' },
        { axe => 'axe_sub_phone_en' },
        { eval => "fetch('../api/v1/articles?module=wiki').then(function(r){"
                . " return r.status; })", as => 'forged_list' },
        { eval => "fetch('../api/v1/session').then(function(r){"
                . " return r.json(); }).then(function(s){"
                . " return fetch('../api/v1/articles/$wid/audience',"
                . " {method: 'PUT', headers: {'Content-Type':"
                . " 'application/json', 'X-CSRF-Token': s.csrf},"
                . " body: JSON.stringify({all: true})}); })"
                . ".then(function(r){ return r.status; })",
          as => 'forged_put' },
        { eval => "fetch('../api/v1/articles/$wid/readers').then(function(r){"
                . " return r.status; })", as => 'forged_readers' },
    ]);
is $r->{sub_modules}, ',news', 'news sub-admin: the module filter offers news only';
is $r->{sub_rows}, 2, '... lists the two news articles';
ok !$r->{sub_sees_wiki}, '... not the wiki one';
is $r->{sub_nav}, 'articles', '... and has only the Articles screen';
axe_clean($r->{axe_sub_phone_en}, 'sub-admin 390x844 en');
is $r->{forged_list}, 403, '... a forged wiki list: 403';
is $r->{forged_put}, 403, '... a forged wiki audience change: 403';
is $r->{forged_readers}, 403, '... forged wiki readers: 403';
($x, $d) = api('GET', "$A/articles/$wid", cookie => $rc);
ok !$d->{audience}{all}, '... the wiki audience is unchanged';
is sql("SELECT count(*) FROM audit_log WHERE enterprise_id = $eid"
       . " AND result = 'refused' AND module = 'wiki'"), $refused0 + 3,
    '... the three refusals logged';

# --- 4. a directory-only sub-admin: no Articles screen ----------------------
my $dir = "dir$u";
my ($dr, $dc) = api_sub_admin($E, $H, $dir, "people$u", 'directory');
is $dr->code, 201, 'directory sub-admin: an API session';
$r = drive(
    width => 1280, height => 800, lang => 'en',
    cookies => [$dc =~ s/$/;$H\//r],
    steps => [
        { go => "$C#articles" }, { wait => '#members-table' },
        { eval => "Array.prototype.map.call(document.querySelectorAll("
                . "'#nav a'), function(a){ return a.getAttribute("
                . "'data-screen'); }).join(',')", as => 'dir_nav' },
        { eval => "!!document.querySelector('#articles-table, #article-new')",
          as => 'dir_articles' },
        { eval => "fetch('../api/v1/session').then(function(r){"
                . " return r.json(); }).then(function(s){"
                . " return fetch('../api/v1/articles',"
                . " {method: 'POST', headers: {'Content-Type':"
                . " 'application/json', 'X-CSRF-Token': s.csrf},"
                . " body: JSON.stringify({module: 'news', path:"
                . " '/$E/news/forged-$u.html', title: 'x', owner:"
                . " '$owner'})}); }).then(function(r){ return r.status; })",
          as => 'forged_create' },
        { eval => "fetch('../api/v1/articles/$old').then(function(r){"
                . " return r.status; })", as => 'forged_get' },
    ]);
is $r->{dir_nav}, 'members,departments',
    'directory sub-admin: Members and Departments, no Articles screen';
ok !$r->{dir_articles}, '... #articles lands on Members';
is $r->{forged_create}, 403, '... a forged create: 403';
is $r->{forged_get}, 403, '... a forged GET of a news article: 403';
is sql("SELECT count(*) FROM articles WHERE path = '/$E/news/forged-$u.html'"),
    0, '... nothing created';

done_testing();
