"""The floor's init phase as a module, so `-X importtime` times it as it does a handler's: boto3 and its client."""

import boto3

client = boto3.client("dynamodb")
