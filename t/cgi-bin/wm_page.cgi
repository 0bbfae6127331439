#!/usr/bin/perl
# A dynamic back-end for the watermark tests (t/80_watermark.t), reached
# directly as CGI or through mod_proxy.  ?mode=... chooses what it answers:
#   plain        an HTML page (X-Saw-Accept-Encoding tells what it was sent)
#   split        the same page printed in tiny flushed pieces, the <body> tag
#                cut inside its name and inside a quoted attribute with '>'
#   gzip         gzip-compressed when the request accepts gzip, else plain
#   gzip-always  gzip-compressed whatever the request says (a producer that
#                ignores Accept-Encoding)
#   csp-nonce    sends a CSP whose style-src has a nonce the page uses
#   csp-strict   sends a strict CSP without any nonce
#   csp-two      sends two CSP headers (httpd joins them with a comma)
#   nobody       an HTML fragment without a <body> tag
#   xhtml        application/xhtml+xml
#   partial      a 206 answer with Content-Range
#   text         text/plain that mentions <body>
#   conditional  the plain page, or 304 when If-None-Match names its ETag
#                (a back-end that honours conditional requests)
use strict;
use warnings;
use IO::Compress::Gzip qw(gzip $GzipError);

$| = 1;
my %q = map { my ($k, $v) = split /=/, $_, 2; ($k, $v // '') }
        split /&/, $ENV{QUERY_STRING} // '';
my $mode = $q{mode} // 'plain';
my $ae = $ENV{HTTP_ACCEPT_ENCODING};
my $saw = defined $ae ? $ae : 'none';

my $PAGE = <<'HTML';
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>CGI page</title>
<!-- <body> -->
</head>
<body class="cgi">
<p>QIWEI-WM-CGI</p>
<p><a id="tap" href="#tapped">a link</a></p>
</body></html>
HTML

sub head {
    my (%h) = @_;
    my $ct = delete $h{'Content-Type'} // 'text/html; charset=utf-8';
    print "Content-Type: $ct\r\n";
    print "X-Saw-Accept-Encoding: $saw\r\n";
    print "$_: $h{$_}\r\n" for sort keys %h;
    print "\r\n";
}

sub gz {
    my ($s) = @_;
    my $out;
    gzip(\$s => \$out) or die "gzip: $GzipError\n";
    return $out;
}

if ($mode eq 'split') {
    head();
    my @pieces = ("<!DOCTYPE html>\n<html><head><title>split</title>",
                  "</head>\n<bo", "dy cl", "ass='x>", "y' data-n=\"<body>\"",
                  ">", "\n<p>QIWEI-WM-SPLIT</p>\n</body></html>\n");
    for my $p (@pieces) {
        print $p;
        select(undef, undef, undef, 0.15);
    }
}
elsif ($mode eq 'gzip' || $mode eq 'gzip-always') {
    if ($mode eq 'gzip-always' || ($ae // '') =~ /\bgzip\b/) {
        my $z = gz($PAGE);
        binmode STDOUT;
        head('Content-Encoding' => 'gzip', 'Content-Length' => length $z,
             'Vary' => 'Accept-Encoding');
        print $z;
    }
    else {
        head('Content-Length' => length $PAGE, 'Vary' => 'Accept-Encoding');
        print $PAGE;
    }
}
elsif ($mode eq 'csp-nonce') {
    head('Content-Security-Policy' => "default-src 'self'; img-src 'self' "
         . "data:; style-src 'nonce-PageNonce123'; script-src 'none'");
    (my $p = $PAGE) =~ s{</head>}
        {<style nonce="PageNonce123">p{color:#333}</style></head>};
    print $p;
}
elsif ($mode eq 'csp-strict') {
    head('Content-Security-Policy' => "default-src 'self'; "
         . "script-src 'none'; object-src 'none'");
    print $PAGE;
}
elsif ($mode eq 'csp-two') {
    print "Content-Type: text/html; charset=utf-8\r\n";
    print "Content-Security-Policy: img-src 'self'\r\n";
    print "Content-Security-Policy: script-src 'none'\r\n\r\n";
    print $PAGE;
}
elsif ($mode eq 'nobody') {
    head();
    print "<title>no body</title>\n<p>QIWEI-WM-NOBODY-CGI</p>\n";
}
elsif ($mode eq 'xhtml') {
    head('Content-Type' => 'application/xhtml+xml; charset=utf-8');
    print qq{<?xml version="1.0" encoding="utf-8"?>\n}
        . qq{<html xmlns="http://www.w3.org/1999/xhtml"><head>}
        . qq{<title>x</title></head><body><p>QIWEI-WM-XHTML</p></body></html>\n};
}
elsif ($mode eq 'partial') {
    my $part = substr($PAGE, 0, 100);
    print "Status: 206 Partial Content\r\n";
    head('Content-Range' => 'bytes 0-99/' . length($PAGE));
    print $part;
}
elsif ($mode eq 'conditional'
       && ($ENV{HTTP_IF_NONE_MATCH} // '') =~ /"cgi-etag-1"/) {
    print "Status: 304 Not Modified\r\n";
    head('ETag' => '"cgi-etag-1"');
}
elsif ($mode eq 'text') {
    head('Content-Type' => 'text/plain; charset=utf-8');
    print "QIWEI-WM-TEXT <body> plain\n";
}
else {
    head('Content-Length' => length $PAGE, 'ETag' => '"cgi-etag-1"',
         'Cache-Control' => 'public, max-age=600');
    print $PAGE;
}
