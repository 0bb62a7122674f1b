"""The web console: its static files in a private bucket, served by CloudFront through origin access control, with
TLS and security headers. The API is proxied under the same domain (``/v1/*``, ``/.well-known/*``), so the console
calls it same-origin and no CORS is needed."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cf
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as deploy
from constructs import Construct

from infra.nag import acknowledge

CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console" / "dist"
CSP = (
    "default-src 'self'; img-src 'self' data:; connect-src 'self' https:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


class Console(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, api_url: str, access_logs: s3.IBucket) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Site",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="console/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        headers = cf.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            security_headers_behavior=cf.ResponseSecurityHeadersBehavior(
                content_security_policy=cf.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CSP, override=True
                ),
                content_type_options=cf.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cf.ResponseHeadersFrameOptions(frame_option=cf.HeadersFrameOption.DENY, override=True),
                referrer_policy=cf.ResponseHeadersReferrerPolicy(
                    referrer_policy=cf.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
                strict_transport_security=cf.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365), include_subdomains=True, override=True
                ),
            ),
        )
        api_domain = Fn.select(2, Fn.split("/", api_url))  # https://<id>.execute-api.<region>.amazonaws.com/
        api_origin = origins.HttpOrigin(api_domain, protocol_policy=cf.OriginProtocolPolicy.HTTPS_ONLY)
        api_behavior = cf.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cf.ViewerProtocolPolicy.HTTPS_ONLY,
            allowed_methods=cf.AllowedMethods.ALLOW_ALL,
            cache_policy=cf.CachePolicy.CACHING_DISABLED,
            origin_request_policy=cf.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        )
        self.distribution = cf.Distribution(
            self,
            "Distribution",
            comment="Imprimatur web console",
            default_root_object="index.html",
            http_version=cf.HttpVersion.HTTP2_AND_3,
            default_behavior=cf.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cf.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                response_headers_policy=headers,
                cache_policy=cf.CachePolicy.CACHING_OPTIMIZED,
            ),
            additional_behaviors={"/v1/*": api_behavior, "/.well-known/*": api_behavior},
        )
        deploy.BucketDeployment(
            self,
            "Deploy",
            sources=[deploy.Source.asset(str(CONSOLE_DIR))],
            destination_bucket=self.bucket,
            distribution=self.distribution,
            distribution_paths=["/*"],
            memory_limit=256,
        )
        self._acknowledge()

    def _acknowledge(self) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "The marketplace is open to buyers and publishers everywhere; offers carry their own territory "
            "terms, so no geographic restriction belongs at the CDN.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "The console is static files; the API behind it is protected by API keys and API Gateway "
            "throttling. An operator who wants AWS WAF attaches a web ACL (it is billed per month).",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR3",
            "CloudFront standard logs need an ACL-enabled bucket; the stack keeps every bucket ACL-free "
            "(BucketOwnerEnforced). S3 server access logs of the site bucket record the origin reads.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "The distribution has no custom domain (the stack offers none): it serves the default *.cloudfront.net "
            "certificate, whose viewer TLS policy CloudFront fixes. An operator who adds a domain of its own also "
            "adds its ACM certificate and sets the minimum protocol TLSv1.2_2021 (docs/infrastructure.md).",
        )
        stack = Stack.of(self)
        site = stack.resolve(stack.get_logical_id(self.bucket.node.default_child))  # type: ignore[arg-type]
        handler_findings = [
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
            f"AwsSolutions-IAM5[Resource::<{site}.Arn>/*]",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-L1",
        ]
        for child in stack.node.children:  # the BucketDeployment's singleton handler lives at the stack's root
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                for finding in handler_findings:
                    acknowledge(
                        child,
                        finding,
                        "CDK's BucketDeployment handler (AWS-maintained code, run only during deployments) "
                        "copies the console files from the CDK asset bucket into the site bucket and "
                        "invalidates the distribution; its role and runtime are set by aws-cdk-lib.",
                    )
