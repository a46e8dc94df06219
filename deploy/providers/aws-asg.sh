#!/usr/bin/env bash
# Fuller autoscaler provider for AWS Auto Scaling groups (an example to adapt; docs/autoscaler.md).
#
#   aws-asg.sh scale-up GROUP COUNT          set the group's desired capacity to FULLER_DESIRED_SIZE
#   aws-asg.sh scale-down GROUP AGENT-ID...  terminate those instances, decrementing the capacity
#
# Conventions:
#   - One Auto Scaling group per Fuller agent group, named "${FULLER_ASG_PREFIX:-fuller-}GROUP"
#     (set FULLER_ASG_PREFIX in the rules file's provider.environment).
#   - Agent id = EC2 instance id: the launch template's user data starts the agent with
#     FULLER_ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id) (IMDSv2: fetch a
#     token first), FULLER_MACHINE_GROUP=GROUP and FULLER_ZONE=the instance's availability zone,
#     so the ids the master asks to terminate are the instance ids.
#   - The master's credentials (instance profile or environment) allow
#     autoscaling:DescribeAutoScalingGroups, DescribeAutoScalingInstances, SetDesiredCapacity and
#     TerminateInstanceInAutoScalingGroup on these groups.
#
# Both verbs are safe to retry (the master retries a failed attempt with the same
# FULLER_REQUEST_ID): scale-up sets an absolute capacity, never "current + COUNT", and
# scale-down skips instances the group no longer has. The AWS group's own zone balancing
# spreads new instances over its subnets. Errors from the aws CLI go to standard error and end
# the script with a non-zero status, which the master reports (and counts) as a failure.
set -euo pipefail

# The aws CLI (FULLER_AWS_CLI may name another, with arguments, e.g. "aws --profile fuller").
read -r -a aws <<< "${FULLER_AWS_CLI:-aws}"

reply() { # OK MESSAGE [AGENT...]
    local ok=$1 message=$2 agents="" id
    shift 2
    for id in "$@"; do agents+="${agents:+,}\"$id\""; done
    printf '{"ok":%s,"agents":[%s],"message":"%s"}\n' "$ok" "$agents" "${message//\"/\'}"
}

verb=${1:-}
group=${2:-}
[ -n "$verb" ] && [ -n "$group" ] || { reply false "usage: $0 scale-up GROUP COUNT | scale-down GROUP AGENT-ID..."; exit 2; }
asg="${FULLER_ASG_PREFIX:-fuller-}${group}"

case "$verb" in
scale-up)
    desired=${FULLER_DESIRED_SIZE:?FULLER_DESIRED_SIZE is set by the master}
    read -r current maximum < <("${aws[@]}" autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$asg" \
        --query 'AutoScalingGroups[0].[DesiredCapacity,MaxSize]' --output text)
    if [ "$current" = "None" ] || [ -z "$current" ]; then reply false "no Auto Scaling group $asg"; exit 1; fi
    if [ "$desired" -gt "$maximum" ]; then desired=$maximum; fi
    if [ "$current" -ge "$desired" ]; then
        reply true "$asg already has desired capacity $current (asked for $desired)"
        exit 0
    fi
    "${aws[@]}" autoscaling set-desired-capacity --auto-scaling-group-name "$asg" --desired-capacity "$desired" >&2
    reply true "$asg desired capacity $current -> $desired"
    ;;
scale-down)
    shift 2
    [ "$#" -gt 0 ] || { reply false "no agent ids"; exit 2; }
    terminated=()
    for id in "$@"; do
        member=$("${aws[@]}" autoscaling describe-auto-scaling-instances --instance-ids "$id" \
            --query 'AutoScalingInstances[0].AutoScalingGroupName' --output text)
        if [ "$member" != "$asg" ]; then continue; fi  # already gone (a retry), or not ours
        "${aws[@]}" autoscaling terminate-instance-in-auto-scaling-group --instance-id "$id" \
            --should-decrement-desired-capacity >&2
        terminated+=("$id")
    done
    reply true "terminating ${#terminated[@]} of $# instance(s) in $asg" "${terminated[@]}"
    ;;
*)
    reply false "unknown verb $verb"
    exit 2
    ;;
esac
