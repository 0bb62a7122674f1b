"""Create the first admin account and key on a deployed stack, with the deployer's AWS credentials.

    make admin-key STACK=Imprimatur EMAIL=ops@example.org
    # or: python -m functions.accounts.bootstrap --stack Imprimatur --email ops@example.org

It reads the accounts table name from the stack's ``AccountsTableName`` output and writes the account,
its email claim and a key directly (the API's ``POST /v1/accounts`` needs an admin key to begin with).
The key is printed once; only its hash is stored.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", default="Imprimatur", help="CloudFormation stack name")
    p.add_argument("--table", help="accounts table name (instead of reading the stack output)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="Administrator")
    args = p.parse_args(argv)

    import boto3

    table = args.table
    if not table:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        table = outputs.get("AccountsTableName")
        if not table:
            print(f"stack {args.stack} has no AccountsTableName output", file=sys.stderr)
            return 1
    os.environ["ACCOUNTS_TABLE"] = table

    from functions.accounts.dal.store import AccountStore
    from functions.accounts.logic.accounts import create_account
    from functions.accounts.models.input import CreateAccountRequest
    from functions.shared.faults import StateConflict as Conflict

    try:
        account, secret = create_account(
            AccountStore(table), CreateAccountRequest(name=args.name, email=args.email, roles=["admin"])
        )
    except Conflict:
        print(f"an account with email {args.email} already exists", file=sys.stderr)
        return 1
    print(f"admin account: {account.id}\nAPI key (shown once): {secret}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
