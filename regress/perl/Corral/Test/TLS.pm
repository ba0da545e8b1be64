
=pod

=head1 NAME

Corral::Test::TLS - a throwaway certificate authority for TLS tests

=head1 SYNOPSIS

  use Corral::Test::TLS qw(make_ca make_cert);
  my $ca  = make_ca($dir, 'ca');                       # $dir/ca.pem, $dir/ca.key
  my $srv = make_cert($dir, $ca, 'server', cn => 'localhost', san => 'IP:127.0.0.1');
  my $old = make_cert($dir, $ca, 'expired', cn => 'localhost', days => -1);
  # $srv->{cert}, $srv->{key}: file names

=head1 DESCRIPTION

Runs the C<openssl> command, the same steps doc/security.md gives for a
test CA: an EC P-256 key and a self-signed CA certificate, then keys and
certificates signed by it.  C<days =E<gt> -1> makes a certificate that
expired yesterday.

=cut

package Corral::Test::TLS;

use strict;
use warnings;

use Carp;
use Exporter 'import';
use Corral::Test::Utils qw(run_command write_file);

our @EXPORT_OK = qw(make_ca make_cert openssl_ok);

sub _openssl
{
	my (@args) = @_;
	my ($rc, $out, $err) = run_command([ 'openssl', @args ], timeout => 60);
	croak "openssl @args: $err" if $rc;
	return $out;
}

sub openssl_ok { my ($rc) = run_command([ 'openssl', 'version' ]); return $rc == 0; }

sub make_ca
{
	my ($dir, $name, %o) = @_;
	my %ca = (cert => "$dir/$name.pem", key => "$dir/$name.key", name => $name);
	_openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
		'-keyout', $ca{key}, '-out', $ca{cert}, '-days', $o{days} // 3650,
		'-subj', $o{subject} // "/O=Corral test/CN=$name");
	return \%ca;
}

# make_cert($dir, $ca, $name, cn => CN, subject => '/O=../CN=..', san => 'IP:..,DNS:..', days => N)
# The subject is UTF-8; '+' joins the attributes of one RDN (-multivalue-rdn).
# $c->{both}: the key then the certificate in one file (Java's PEM keystore).
sub make_cert
{
	my ($dir, $ca, $name, %o) = @_;
	my %c = (cert => "$dir/$name.pem", key => "$dir/$name.key", name => $name);
	my $subject = $o{subject} // '/O=Corral test/CN=' . ($o{cn} // $name);
	_openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-utf8', '-multivalue-rdn',
		'-keyout', $c{key}, '-out', "$dir/$name.csr", '-subj', $subject);
	my $ext = "basicConstraints=CA:FALSE\n";
	$ext .= "subjectAltName=$o{san}\n" if $o{san};
	write_file("$dir/$name.ext", $ext);
	_openssl('x509', '-req', '-in', "$dir/$name.csr", '-CA', $ca->{cert}, '-CAkey', $ca->{key},
		'-CAcreateserial', '-out', $c{cert}, '-days', $o{days} // 365, '-extfile', "$dir/$name.ext");
	$c{both} = "$dir/$name-both.pem";
	write_file($c{both}, Corral::Test::Utils::slurp_file($c{key}) . Corral::Test::Utils::slurp_file($c{cert}));
	return \%c;
}

1;
