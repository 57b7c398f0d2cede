#!/usr/bin/env bash
# cli-session.sh: a scripted AWS CLI session against rotor's local AWS
# endpoint (test/awslocal), run by TestCLISession in cli_test.go.
#
# It stages a secret by hand, rotates it through the registered rotation
# function, follows the rotation's events through EventBridge into SQS, uses
# SQS and a custom event bus, provokes one error, then recovers a second
# secret from a failed rotation as AWS documents it and runs a configuration
# test (rotate-secret --no-rotate-immediately). Every result is one
# "key: value" line on stdout, values as `--query ... --output text` prints
# them, so that the test can check each against the endpoint's state. Keys
# may repeat (version:). Anything else goes to stderr.
#
# Environment (all required):
#   ENDPOINT        the endpoint URL (http://127.0.0.1:port)
#   FUNCTION_ARN    the rotation function registered on the endpoint
#   FAILING_FUNCTION_ARN  a registered rotation function that always fails
#   SECRET_NAME     the secret to create (the test looks it up)
#   INITIAL_VALUE   its first value; PENDING_VALUE the one staged by hand
#   MESSAGE_BODY    the body sent through the work queue
# plus the usual AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION.
set -euo pipefail
: "${ENDPOINT:?}" "${FUNCTION_ARN:?}" "${FAILING_FUNCTION_ARN:?}" "${SECRET_NAME:?}" "${INITIAL_VALUE:?}" "${PENDING_VALUE:?}" "${MESSAGE_BODY:?}"
export LC_ALL=C

aws() { command aws --endpoint-url "$ENDPOINT" --output text "$@"; }
say() { printf '%s: %s\n' "$1" "$2"; }

# --- Secrets Manager: create, stage a value by hand, move AWSCURRENT ---------

out=$(aws secretsmanager create-secret --name "$SECRET_NAME" --secret-string "$INITIAL_VALUE" \
	--description "created by the CLI session" --tags Key=team,Value=platform \
	--query '[Name,ARN,VersionId]')
read -r name arn v1 <<<"$out"
say created "$name"
say secret-arn "$arn"
say initial-version "$v1"

# A second secret, which the name filter of list-secrets must leave out.
aws secretsmanager create-secret --name other/app --secret-string '{"k":"v"}' --query Name >/dev/null

out=$(aws secretsmanager put-secret-value --secret-id "$SECRET_NAME" --secret-string "$PENDING_VALUE" \
	--version-stages AWSPENDING --query '[VersionId,join(`,`,VersionStages)]')
read -r v2 stages <<<"$out"
say pending-version "$v2"
say pending-put-stages "$stages"

out=$(aws secretsmanager describe-secret --secret-id "$SECRET_NAME" \
	--query "[join(',',sort(VersionIdsToStages.\"$v1\")),join(',',sort(VersionIdsToStages.\"$v2\"))]")
read -r s1 s2 <<<"$out"
say stages-initial "$s1"
say stages-pending "$s2"

aws secretsmanager update-secret-version-stage --secret-id "$SECRET_NAME" --version-stage AWSCURRENT \
	--move-to-version-id "$v2" --remove-from-version-id "$v1" --query Name >/dev/null
out=$(aws secretsmanager describe-secret --secret-id "$SECRET_NAME" \
	--query "[join(',',sort(VersionIdsToStages.\"$v1\")),join(',',sort(VersionIdsToStages.\"$v2\"))]")
read -r s1 s2 <<<"$out"
say stages-after-move "$s2"
say previous-after-move "$s1"

out=$(aws secretsmanager get-secret-value --secret-id "$SECRET_NAME" --version-stage AWSCURRENT \
	--query '[VersionId,SecretString]')
IFS=$'\t' read -r vid value <<<"$out"
say current-version "$vid"
say current-value "$value"

out=$(aws secretsmanager get-secret-value --secret-id "$SECRET_NAME" --version-id "$v1" \
	--query '[join(`,`,sort(VersionStages)),SecretString]')
IFS=$'\t' read -r stages value <<<"$out"
say by-id-stages "$stages"
say by-id-value "$value"

say random-password "$(aws secretsmanager get-random-password --password-length 24 \
	--exclude-punctuation --exclude-characters O0Il1 --require-each-included-type --query RandomPassword)"

aws secretsmanager tag-resource --secret-id "$SECRET_NAME" --tags Key=env,Value=dev Key=owner,Value=cli
aws secretsmanager untag-resource --secret-id "$SECRET_NAME" --tag-keys owner
out=$(aws secretsmanager list-secrets --filters Key=name,Values=cli/ \
	--query "SecretList[].[Name,join(',',sort(Tags[].join('=',[Key,Value])))]")
while IFS=$'\t' read -r n tags; do
	say listed "$n"
	say tags "$tags"
done <<<"$out"

aws secretsmanager list-secret-version-ids --secret-id "$SECRET_NAME" \
	--query "Versions[].[VersionId,join(',',sort(VersionStages))]" |
	sort | while read -r id stages; do say version "$id $stages"; done

# --- An SQS queue that a rule on the default bus feeds with Secrets Manager's events

events_url=$(aws sqs create-queue --queue-name rotor-events --query QueueUrl)
events_arn=$(aws sqs get-queue-attributes --queue-url "$events_url" --attribute-names QueueArn --query Attributes.QueueArn)
say events-queue-arn "$events_arn"
say rule-arn "$(aws events put-rule --name secrets-to-queue \
	--event-pattern '{"source":["aws.secretsmanager"]}' --query RuleArn)"
say targets-failed "$(aws events put-targets --rule secrets-to-queue \
	--targets "Id=queue,Arn=$events_arn" --query FailedEntryCount)"

event() { # event SOURCE: an event as EventBridge would hand it to a rule
	printf '{"id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Secret Label Updated","source":"%s","account":"123456789012","time":"2024-01-01T00:00:00Z","region":"us-east-1","resources":["%s"],"detail":{"labelUpdated":"AWSCURRENT"}}' "$1" "$arn"
}
say pattern-match "$(aws events test-event-pattern --event-pattern '{"source":["aws.secretsmanager"]}' \
	--event "$(event aws.secretsmanager)" --query Result)"
say pattern-no-match "$(aws events test-event-pattern --event-pattern '{"source":["aws.secretsmanager"]}' \
	--event "$(event aws.ec2)" --query Result)"

# --- Rotation through the registered function --------------------------------

rv=$(aws secretsmanager rotate-secret --secret-id "$SECRET_NAME" --rotation-lambda-arn "$FUNCTION_ARN" \
	--rotation-rules '{"ScheduleExpression":"rate(10 days)"}' --query VersionId)
say rotation-version "$rv"

query="[LastRotatedDate,NextRotationDate,RotationEnabled,RotationRules.ScheduleExpression,RotationLambdaARN,"
query+="join(',',sort(VersionIdsToStages.\"$rv\")),join(',',sort(VersionIdsToStages.\"$v2\"))]"
deadline=$((SECONDS + 10))
while :; do
	out=$(aws secretsmanager describe-secret --secret-id "$SECRET_NAME" --query "$query")
	IFS=$'\t' read -r last next enabled schedule fn rstages pstages <<<"$out"
	[[ $last != None ]] && break
	((SECONDS < deadline)) || { echo "LastRotatedDate still unset after 10 s: $out" >&2; exit 1; }
	sleep 0.2
done
say rotated yes
say next-rotation-in-days "$(awk -v l="$last" -v n="$next" 'BEGIN { printf "%.0f", (n - l) / 86400 }')"
say rotation-enabled "$enabled"
say rotation-schedule "$schedule"
say rotation-function "$fn"
say stages-rotated "$rstages"
say stages-before-rotation "$pstages"

# The rotation's events, as the queue got them: the CloudTrail events by
# eventName, the others by detail-type. Messages stay unacknowledged: they are
# invisible for the queue's 30 s visibility timeout, longer than the session.
names=() label_updates=() secret_ids=()
deadline=$((SECONDS + 10))
while :; do
	out=$(aws sqs receive-message --queue-url "$events_url" --max-number-of-messages 10 \
		--wait-time-seconds 2 --query 'Messages[].[Body]')
	while IFS= read -r body; do
		[[ -z $body || $body == None ]] && continue
		if [[ $body =~ \"eventName\":\"([A-Za-z]+)\" ]]; then
			names+=("${BASH_REMATCH[1]}")
			[[ $body =~ \"SecretId\":\"([^\"]+)\" ]] && secret_ids+=("${BASH_REMATCH[1]}")
		elif [[ $body =~ \"detail-type\":\"([^\"]+)\" ]]; then
			names+=("${BASH_REMATCH[1]}")
			[[ $body =~ \"labelUpdated\":\"([^\"]+)\",?.*\"versionId\":\"([^\"]+)\" ]] &&
				label_updates+=("${BASH_REMATCH[1]} ${BASH_REMATCH[2]}")
		fi
	done <<<"$out"
	got=$(printf '%s\n' "${names[@]}" | sort -u | paste -sd, -)
	[[ $got == "RotationStarted,RotationSucceeded,Secret Label Updated" ]] && break
	((SECONDS < deadline)) || { echo "rotation events so far: $got" >&2; exit 1; }
done
say rotation-events "$got"
say rotation-event-count "${#names[@]}"
for u in "${label_updates[@]}"; do say label-updated "$u"; done
say rotation-event-secret "$(printf '%s\n' "${secret_ids[@]}" | sort -u | paste -sd, -)"

# --- SQS on its own: send, receive, delete -----------------------------------

work_url=$(aws sqs create-queue --queue-name rotor-work --query QueueUrl)
out=$(aws sqs send-message --queue-url "$work_url" --message-body "$MESSAGE_BODY" --query '[MessageId,MD5OfMessageBody]')
read -r sent md5 <<<"$out"
say sent-id "$sent"
say sent-md5 "$md5"
out=$(aws sqs receive-message --queue-url "$work_url" --wait-time-seconds 5 \
	--attribute-names ApproximateReceiveCount --query 'Messages[0].[MessageId,Attributes.ApproximateReceiveCount,ReceiptHandle,Body]')
IFS=$'\t' read -r received count handle body <<<"$out"
say received-id "$received"
say received-count "$count"
say received-body "$body"
aws sqs delete-message --queue-url "$work_url" --receipt-handle "$handle"
say work-queue-after-delete "$(aws sqs get-queue-attributes --queue-url "$work_url" \
	--attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible \
	--query 'join(`,`,[Attributes.ApproximateNumberOfMessages,Attributes.ApproximateNumberOfMessagesNotVisible])')"

# --- A custom bus: a rule sends one of two events to the work queue ----------

say bus-arn "$(aws events create-event-bus --name rotor-app --query EventBusArn)"
work_arn=$(aws sqs get-queue-attributes --queue-url "$work_url" --attribute-names QueueArn --query Attributes.QueueArn)
aws events put-rule --event-bus-name rotor-app --name deploys \
	--event-pattern '{"source":["rotor.cli"],"detail-type":["Deploy"],"detail":{"n":[{"numeric":[">",0]}]}}' \
	--query RuleArn >/dev/null
aws events put-targets --event-bus-name rotor-app --rule deploys --targets "Id=work,Arn=$work_arn" --query FailedEntryCount >/dev/null
out=$(aws events put-events --entries '[
	{"EventBusName":"rotor-app","Source":"rotor.cli","DetailType":"Deploy","Detail":"{\"app\":\"cli\",\"n\":1}"},
	{"EventBusName":"rotor-app","Source":"rotor.cli","DetailType":"Deploy","Detail":"{\"app\":\"cli\",\"n\":0}"}
]' --query '[FailedEntryCount,Entries[0].EventId]')
read -r failed event_id <<<"$out"
say put-events-failed "$failed"
say put-event-id "$event_id"
body=$(aws sqs receive-message --queue-url "$work_url" --wait-time-seconds 5 --query 'Messages[0].Body')
[[ $body =~ \"id\":\"([^\"]+)\" ]] && say custom-event-id "${BASH_REMATCH[1]}"
[[ $body =~ \"detail\":(\{[^}]*\}) ]] && say custom-event-detail "${BASH_REMATCH[1]}"

# --- Errors: printed, not fatal ----------------------------------------------

err() { # err KEY COMMAND...: the exit code and the error code of a failing call
	local rc=0 msg
	msg=$(aws "${@:2}" 2>&1 >/dev/null) || rc=$?
	say "$1-exit" "$rc"
	if [[ $msg =~ An\ error\ occurred\ \(([^\)]+)\)\ when\ calling\ the\ [A-Za-z]+\ operation:\ (.*) ]]; then
		say "$1" "${BASH_REMATCH[1]}"
		say "$1-message" "${BASH_REMATCH[2]}"
	else
		say "$1" "unparsed: $msg"
	fi
}
err error secretsmanager get-secret-value --secret-id cli/missing
err queue-error sqs get-queue-url --queue-name missing

# --- Recovery from a failed rotation, then a configuration test -------------

# AWS's documented recovery: remove AWSPENDING from the failed rotation's
# version, then rotate again. The failed rotation waits for its next retry
# meanwhile (the test sets the endpoint's retry backoff to an hour).
recovery=cli/recovery
aws secretsmanager create-secret --name "$recovery" --secret-string "$INITIAL_VALUE" --query Name >/dev/null
fv=$(aws secretsmanager rotate-secret --secret-id "$recovery" --rotation-lambda-arn "$FAILING_FUNCTION_ARN" --query VersionId)
say recovery-failed-version "$fv"
aws secretsmanager update-secret-version-stage --secret-id "$recovery" --version-stage AWSPENDING \
	--remove-from-version-id "$fv" --query Name >/dev/null
nv=$(aws secretsmanager rotate-secret --secret-id "$recovery" --rotation-lambda-arn "$FUNCTION_ARN" --query VersionId)
say recovery-version "$nv"
deadline=$((SECONDS + 10))
while :; do
	stages=$(aws secretsmanager describe-secret --secret-id "$recovery" --query "join(',',sort(VersionIdsToStages.\"$nv\"))")
	[[ $stages == AWSCURRENT* ]] && break
	((SECONDS < deadline)) || { echo "the rotation after the recovery did not finish in 10 s: $stages" >&2; exit 1; }
	sleep 0.2
done
say recovery-stages "$stages"

# The configuration test runs testSecret alone, on a version it labels
# AWSPENDING and unlabels afterwards.
ct=$(aws secretsmanager rotate-secret --secret-id "$recovery" --no-rotate-immediately --query VersionId)
say config-test-version "$ct"
say config-test-stages "$(aws secretsmanager describe-secret --secret-id "$recovery" --query "VersionIdsToStages.\"$ct\"")"
