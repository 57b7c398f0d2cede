"""A boto3 session against rotor's local endpoint: the SDK of most rotation
functions and scripts in the wild. Prints `key: value` lines that
boto3_test.go checks. Reads ENDPOINT and FUNCTION_ARN from the environment."""
import json
import os
import time

import boto3
from botocore.config import Config

endpoint = os.environ["ENDPOINT"]
cfg = Config(retries={"max_attempts": 1})
sm = boto3.client("secretsmanager", endpoint_url=endpoint, config=cfg)
sqs = boto3.client("sqs", endpoint_url=endpoint, config=cfg)
events = boto3.client("events", endpoint_url=endpoint, config=cfg)
lam = boto3.client("lambda", endpoint_url=endpoint, config=cfg)

created = sm.create_secret(Name="py/app", SecretString=json.dumps({"username": "app", "password": os.environ["INITIAL"]}))
print("created:", created["Name"])

queue = sqs.create_queue(QueueName="py-events")["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
events.put_rule(Name="py-rotations", EventPattern=json.dumps({"source": ["aws.secretsmanager"], "detail-type": ["AWS Service Event via CloudTrail"]}))
events.put_targets(Rule="py-rotations", Targets=[{"Id": "q", "Arn": queue_arn}])

rotated = sm.rotate_secret(SecretId="py/app", RotationLambdaARN=os.environ["FUNCTION_ARN"], RotationRules={"AutomaticallyAfterDays": 30})
for _ in range(100):
    described = sm.describe_secret(SecretId="py/app")
    if "LastRotatedDate" in described:
        break
    time.sleep(0.1)
print("rotated-version-stages:", ",".join(sorted(described["VersionIdsToStages"][rotated["VersionId"]])))
print("rotation-enabled:", described["RotationEnabled"])

names = set()
deadline = time.time() + 10
while time.time() < deadline and "RotationSucceeded" not in names:
    for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
        names.add(json.loads(m["Body"])["detail"]["eventName"])
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
print("events:", ",".join(sorted(names)))

batch = sm.batch_get_secret_value(SecretIdList=["py/app", "py/missing"])
print("batch:", len(batch["SecretValues"]), ",".join(e["ErrorCode"] for e in batch["Errors"]))

try:
    sm.get_secret_value(SecretId="py/missing")
except sm.exceptions.ResourceNotFoundException:
    print("missing: ResourceNotFoundException")

invoked = lam.invoke(FunctionName="rotor-py", Payload=json.dumps({"Step": "frobnicate", "SecretId": "py/app", "ClientRequestToken": rotated["VersionId"]}))
print("invoke-error:", invoked.get("FunctionError", ""), json.loads(invoked["Payload"].read())["errorType"])
