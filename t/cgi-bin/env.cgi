#!/usr/bin/perl
# Prints the CGI environment as "NAME=value" lines, so tests can check what a
# back-end sees (REMOTE_USER, QIWEI_*, HTTP_X_QIWEI_*).
use strict;
use warnings;

print "Content-Type: text/plain; charset=utf-8\r\n\r\n";
print "QIWEI-ENV-CGI\n";
for my $k (sort keys %ENV) {
    my $v = $ENV{$k};
    $v =~ s/[\r\n]/ /g;
    print "$k=$v\n";
}
