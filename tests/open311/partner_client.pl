#!/usr/bin/perl
# A partner's Open311 client in Perl, as FixMyStreet's talks to a council's back end: LWP with
# form-encoded POSTs, XML::Simple with the options FixMyStreet parses answers with (ForceArray
# on service/attribute/value/request/error/request_update, KeyAttr off, GroupTags,
# SuppressEmpty undef), W3CDTF dates from DateTime::Format::W3CDTF. Written for civicgrid's
# tests (tests/open311/test_partner_client.py); it prints one JSON document per command.
#
#   partner_client.pl BASE KEY services
#   partner_client.pl BASE KEY send SERVICE_CODE LAT LONG MEDIA_URL
#   partner_client.pl BASE KEY updates
#   partner_client.pl BASE KEY comment SERVICE_REQUEST_ID UPDATE_ID STATUS TEXT
use strict;
use warnings;
use utf8;
use DateTime;
use DateTime::Format::W3CDTF;
use HTTP::Request::Common qw(GET POST);
use JSON::PP;
use LWP::UserAgent;
use URI;
use XML::Simple;

my ($base, $key, $command, @args) = @ARGV;
my $ua = LWP::UserAgent->new(timeout => 20);
my $json = JSON::PP->new->canonical->utf8;

sub parse {
    my ($xml) = @_;
    my $group_tags = {
        services => 'service',
        attributes => 'attribute',
        values => 'value',
        service_requests => 'request',
        errors => 'error',
        service_request_updates => 'request_update',
    };
    my $simple = XML::Simple->new(
        ForceArray => [ values %$group_tags ],
        KeyAttr => {},
        GroupTags => $group_tags,
        SuppressEmpty => undef,
    );
    return eval { $simple->parse_string($xml) };
}

sub get {
    my ($path, $params) = @_;
    my $uri = URI->new("$base$path");
    $uri->query_form({ jurisdiction_id => 'civicgrid', %{ $params || {} } });
    return $ua->request(GET $uri->as_string);
}

sub post {
    my ($path, $params) = @_;
    return $ua->request(
        POST "$base$path", [ jurisdiction_id => 'civicgrid', api_key => $key, %$params ]
    );
}

sub errors_of {
    my ($res) = @_;
    my $obj = parse($res->decoded_content) || {};
    return [ map { "$_->{code}: $_->{description}" } @{ $obj->{error} || [] } ];
}

my $out;
if ($command eq 'services') {
    my $list = parse(get('services.xml')->decoded_content);
    my $meta = parse(get('services/01002.xml')->decoded_content);
    my $attr = $meta->{attributes}->[0];
    $out = {
        count => scalar @{ $list->{service} },
        first_code => $list->{service}->[0]->{service_code},
        attribute => $attr->{code},
        required => $attr->{required},
        values => [ map { $_->{key} } @{ $attr->{values} } ],
    };
} elsif ($command eq 'send') {
    my ($code, $lat, $long, $media_url) = @args;
    my $res = post('requests.xml', {
        service_code => $code,
        lat => $lat,
        long => $long,
        description => "title: 垃圾\n\ndetail: 路边一堆垃圾\n\nurl: http://fms.example.org/report/1\n",
        first_name => 'Ann',
        last_name => 'Smith',
        email => 'ann@example.org',
        media_url => $media_url,
        'attribute[fixmystreet_id]' => '1',
        'attribute[closest_address]' => '',
    });
    my $obj = $res->is_success ? parse($res->decoded_content) : undef;
    $out = {
        status => $res->code,
        service_request_id => $obj ? $obj->{request}->[0]->{service_request_id} : undef,
        errors => $res->is_success ? [] : errors_of($res),
    };
} elsif ($command eq 'updates') {
    # as the cron does: the last two hours, W3CDTF in UTC
    my $now = DateTime->now();
    my $start = DateTime::Format::W3CDTF->format_datetime($now->clone->add(hours => -2));
    my $end = DateTime::Format::W3CDTF->format_datetime($now->clone->add(minutes => 1));
    my $res = get('servicerequestupdates.xml',
        { api_key => $key, start_date => $start, end_date => $end });
    my $obj = parse($res->decoded_content);
    my @updates;
    for my $u (@{ $obj->{request_update} || [] }) {
        my $when = DateTime::Format::W3CDTF->parse_datetime($u->{updated_datetime})
            ->set_time_zone('UTC');
        my $utc = DateTime::Format::W3CDTF->format_datetime($when);
        push @updates, {
            update_id => $u->{update_id},
            service_request_id => $u->{service_request_id},
            status => $u->{status},
            description => $u->{description},
            media_url => $u->{media_url},
            external_status_code => $u->{external_status_code},
            in_window => ($utc ge $start && $utc le $end) ? 1 : 0,
        };
    }
    $out = { status => $res->code, updates => \@updates };
} elsif ($command eq 'comment') {
    my ($id, $update_id, $status, $text) = @args;
    my $res = post('servicerequestupdates.xml', {
        # the comment's own time: the same when the update is sent again
        updated_datetime => DateTime::Format::W3CDTF->format_datetime(DateTime->today()),
        service_request_id => $id,
        status => $status,
        description => $text,
        first_name => 'Ann',
        last_name => 'Smith',
        email => 'ann@example.org',
        update_id => $update_id,
    });
    my $obj = $res->is_success ? parse($res->decoded_content) : undef;
    my $got = $obj ? $obj->{request_update}->[0]->{update_id} : undef;
    $out = {
        status => $res->code,
        update_id => (defined $got && !ref $got) ? $got : undef,
        errors => $res->is_success ? [] : errors_of($res),
    };
} else {
    die "unknown command $command\n";
}
print $json->encode($out), "\n";
