"""Issue 9's cloud side: the console's files in a private bucket behind CloudFront with origin access control, HTTPS
and security headers, and the API proxied under the same domain."""

from __future__ import annotations

from typing import Any

from infra.synth import SynthResult
from tests.infra.conftest import Resources, of_type


def _distribution(resources: Resources) -> dict[str, Any]:
    dists = of_type(resources, "AWS::CloudFront::Distribution")
    assert len(dists) == 1
    return dict(next(iter(dists.values()))["Properties"]["DistributionConfig"])


def test_console_is_served_by_cloudfront_over_https_through_oac(resources: Resources) -> None:
    config = _distribution(resources)
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    s3_origins = [o for o in config["Origins"] if "S3OriginConfig" in o]
    assert len(s3_origins) == 1 and "OriginAccessControlId" in s3_origins[0]
    assert len(of_type(resources, "AWS::CloudFront::OriginAccessControl")) == 1


def test_api_is_proxied_same_origin_without_caching(resources: Resources) -> None:
    behaviors = {b["PathPattern"]: b for b in _distribution(resources)["CacheBehaviors"]}
    assert set(behaviors) == {"/v1/*", "/.well-known/*"}
    for b in behaviors.values():
        assert b["ViewerProtocolPolicy"] == "https-only"
        assert "POST" in b["AllowedMethods"] and "DELETE" in b["AllowedMethods"]


def test_security_headers(resources: Resources) -> None:
    policies = of_type(resources, "AWS::CloudFront::ResponseHeadersPolicy")
    headers = next(iter(policies.values()))["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert "default-src 'self'" in headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"


def test_site_bucket_is_private(resources: Resources) -> None:
    buckets = [
        b
        for b in of_type(resources, "AWS::S3::Bucket").values()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "console/"
    ]
    assert len(buckets) == 1
    props = buckets[0]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_the_tls_acknowledgement_promises_nothing_the_stack_lacks(synth: SynthResult, resources: Resources) -> None:
    """Issue 17: the CFR4 acknowledgement said "with a custom domain the stack asks for TLSv1.2_2021", but the stack
    has no custom domain. It now says the distribution has none and serves CloudFront's default certificate, which the
    template must bear out."""
    (ack,) = [a for a in synth.acknowledgements() if a.rule == "AwsSolutions-CFR4"]
    assert "the stack asks" not in ack.reason and "has no custom domain" in ack.reason
    (dist,) = of_type(resources, "AWS::CloudFront::Distribution").values()
    config = dist["Properties"]["DistributionConfig"]
    assert "Aliases" not in config
    assert config.get("ViewerCertificate", {}).get("CloudFrontDefaultCertificate", True) is True
    assert "AcmCertificateArn" not in repr(config)
