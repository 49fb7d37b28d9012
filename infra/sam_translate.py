"""Expand a packaged SAM template into plain CloudFormation, offline, for a second cfn-lint pass.

cfn-lint checks SAM resources against loose schemas only; running the real SAM transform
(aws-sam-translator, what CloudFormation itself runs) catches what those schemas let through
(gateway responses, globals, event sources) and lets cfn-lint check the resources actually
deployed. Usage: python infra/sam_translate.py build/package/sam.json build/package/cfn.json
"""

from __future__ import annotations

import copy
import json
import os
import sys
from typing import Any

SAMPLE_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::AccountId": "123456789012",
    "CognitoUserPoolId": "us-east-1_Example1",
    "CognitoAppClientId": "exampleclientid",
}


class _NoManagedPolicies:
    """The translator only needs AWS managed policy ARNs for `Policies: [name]` shorthand."""

    def load(self) -> dict[str, str]:
        return {}


def translate(sam: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template the SAM transform produces for ``sam``."""
    os.environ.setdefault("AWS_DEFAULT_REGION", SAMPLE_PARAMETERS["AWS::Region"])
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(sam)
    for resource in sam.get("Resources", {}).values():
        # `aws cloudformation package` replaces the local zip path with an S3 URI.
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://perks-artifacts/deployment.zip"
    return transform(sam, dict(SAMPLE_PARAMETERS), _NoManagedPolicies())


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    with open(argv[0]) as f:
        sam = json.load(f)
    from samtranslator.model.exceptions import InvalidDocumentException

    try:
        cfn = translate(sam)
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"SAM transform error: {cause.message}")
        return 1
    with open(argv[1], "w") as f:
        json.dump(cfn, f, indent=2)
    print(f"SAM transform ok: {len(cfn['Resources'])} CloudFormation resources -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
