"""The CloudFormation that SAM generates from template.yaml, checked offline (samtranslator, no account).

Every environment is translated with the parameter overrides samconfig.toml
gives it, so what is asserted here is what `sam deploy --config-env <env>`
would hand to CloudFormation.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from cfnlint.api import lint_all

from greeter import store
from tests.support.paths import ROOT
from tests.support.sam import LOG_DELIVERY_ACTIONS, sam_template, state_machine_definition, translate

API_FUNCTIONS = ("PutBirthdayFunction", "GetGreetingFunction")
HOOKS = {"PutBirthdayFunction": "PutBirthdaySmokeTestHook", "GetGreetingFunction": "GetGreetingSmokeTestHook"}
FUNCTION_ALARMS = {
    "PutBirthdayFunction": (
        "PutBirthdayAliasErrorsAlarm",
        "PutBirthdayNewVersionErrorsAlarm",
        "PutBirthdayThrottlesAlarm",
        "PutBirthdayDurationAlarm",
        "PutBirthdayTableThrottlesAlarm",
    ),
    "GetGreetingFunction": (
        "GetGreetingAliasErrorsAlarm",
        "GetGreetingNewVersionErrorsAlarm",
        "GetGreetingThrottlesAlarm",
        "GetGreetingDurationAlarm",
        "GetGreetingTableThrottlesAlarm",
    ),
}
SHARED_ALARMS = ("Api5xxAlarm", "SmokeTestFailedAlarm")
PAGING_ONLY_ALARMS = {
    "TableSystemErrorsAlarm": "DynamoDB's own errors: no version of ours causes them, a rollback cannot stop them",
}
"""Alarms that notify but guard no deployment, and why."""
TABLE_OPERATIONS = {"PutBirthdayFunction": "PutItem", "GetGreetingFunction": "GetItem"}
ENVIRONMENTS = {"default": "dev", "staging": "staging", "prod": "prod"}


def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def parameter_overrides(config_env: str) -> dict[str, str]:
    overrides = samconfig()[config_env]["deploy"]["parameters"]["parameter_overrides"]
    pairs = shlex.split(overrides) if isinstance(overrides, str) else overrides
    return dict(pair.split("=", 1) for pair in pairs)


@cache
def _translated(config_env: str) -> str:
    return json.dumps(translate(parameter_overrides(config_env)))


def cfn(config_env: str = "prod") -> dict[str, Any]:
    """A fresh copy of the translated template for one samconfig environment."""
    translated: dict[str, Any] = json.loads(_translated(config_env))
    return translated


def resources(config_env: str = "prod", resource_type: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in cfn(config_env)["Resources"].items()
        if resource_type is None or resource["Type"] == resource_type
    }


def logical_id_of_type(template: dict[str, Any], prefix: str, resource_type: str) -> str:
    names: list[str] = [
        n for n, r in template["Resources"].items() if n.startswith(prefix) and r["Type"] == resource_type
    ]
    (name,) = names
    return name


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def actions(role: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for statement in statements(role):
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def alarm_configuration(group: dict[str, Any]) -> dict[str, Any]:
    """The deployment group's alarms while DeploymentAlarms=enabled (the break glass empties them)."""
    condition, enabled, disabled = group["Properties"]["AlarmConfiguration"]["Fn::If"]
    assert (condition, disabled) == ("UseDeploymentAlarms", {})
    configuration: dict[str, Any] = enabled
    return configuration


# ------------------------------------------------------------------ the trap


def test_no_alias_or_deployment_preference_in_globals() -> None:
    """An alias in Globals, overridden with AWS::NoValue for the hooks, passes cfn-lint and fails the deploy."""
    function_globals = sam_template().get("Globals", {}).get("Function", {})
    assert "AutoPublishAlias" not in function_globals
    assert "DeploymentPreference" not in function_globals


def test_exactly_the_api_functions_publish_a_live_alias() -> None:
    template = sam_template()["Resources"]
    with_alias = {name for name, r in template.items() if "AutoPublishAlias" in r.get("Properties", {})}
    assert with_alias == set(API_FUNCTIONS)
    assert {template[name]["Properties"]["AutoPublishAlias"] for name in API_FUNCTIONS} == {"live"}


# ------------------------------------------------------------------ canaries


@pytest.mark.parametrize(
    ("config_env", "deployment_config"),
    [("default", "AllAtOnce"), ("staging", "Canary10Percent5Minutes"), ("prod", "Canary10Percent5Minutes")],
)
def test_each_environment_shifts_traffic_its_own_way(config_env: str, deployment_config: str) -> None:
    groups = resources(config_env, "AWS::CodeDeploy::DeploymentGroup")
    assert set(groups) == {f"{function}DeploymentGroup" for function in API_FUNCTIONS}
    for group in groups.values():
        name = group["Properties"]["DeploymentConfigName"]
        assert name == {"Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": deployment_config}]}


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_every_alarm_of_a_function_stops_and_rolls_back_its_deployment(function: str) -> None:
    group = resources()[f"{function}DeploymentGroup"]
    configuration = alarm_configuration(group)
    alarms = [alarm["Name"] for alarm in configuration["Alarms"]]
    assert configuration["Enabled"] is True
    assert alarms == [{"Ref": name} for name in (*FUNCTION_ALARMS[function], *SHARED_ALARMS)]
    rollback = group["Properties"]["AutoRollbackConfiguration"]
    assert rollback["Enabled"] is True
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(rollback["Events"])


def test_the_break_glass_is_off_by_default_and_keeps_the_smoke_test() -> None:
    template = cfn()
    assert template["Parameters"]["DeploymentAlarms"]["Default"] == "enabled"
    assert template["Conditions"]["UseDeploymentAlarms"] == {"Fn::Equals": [{"Ref": "DeploymentAlarms"}, "enabled"]}
    for config_env in ENVIRONMENTS:
        assert "DeploymentAlarms" not in parameter_overrides(config_env)
    for function in API_FUNCTIONS:
        update = template["Resources"][f"{function}Aliaslive"]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["BeforeAllowTrafficHook"] == {"Ref": HOOKS[function]}


def test_every_alarm_in_the_template_guards_a_deployment_or_only_pages_for_a_reason() -> None:
    in_groups = {
        alarm["Name"]["Ref"]
        for group in resources(resource_type="AWS::CodeDeploy::DeploymentGroup").values()
        for alarm in alarm_configuration(group)["Alarms"]
    }
    every_alarm = set(resources(resource_type="AWS::CloudWatch::Alarm"))
    assert in_groups == every_alarm - set(PAGING_ONLY_ALARMS)
    assert set(PAGING_ONLY_ALARMS) <= every_alarm


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_the_live_alias_runs_the_pre_traffic_hook(function: str) -> None:
    alias = resources()[f"{function}Aliaslive"]
    update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["BeforeAllowTrafficHook"] == {"Ref": HOOKS[function]}
    assert update["DeploymentGroupName"] == {"Ref": f"{function}DeploymentGroup"}
    assert update["ApplicationName"] == {"Ref": "ServerlessDeploymentApplication"}


@pytest.mark.parametrize(("function", "hook"), HOOKS.items())
def test_a_hook_smoke_tests_the_new_version_of_its_function(function: str, hook: str) -> None:
    template = cfn()
    properties = template["Resources"][hook]["Properties"]
    version = logical_id_of_type(template, f"{function}Version", "AWS::Lambda::Version")
    other = next(name for name in API_FUNCTIONS if name != function)
    target_variable = {"PutBirthdayFunction": "PUT_FUNCTION_ARN", "GetGreetingFunction": "GET_FUNCTION_ARN"}
    variables = properties["Environment"]["Variables"]

    assert properties["FunctionName"] == {
        "Fn::Sub": f"CodeDeployHook_${{AWS::StackName}}-{function[: -len('Function')]}"
    }
    assert variables[target_variable[function]] == {"Ref": version}
    assert variables[target_variable[other]] == {"Fn::Sub": f"${{{other}.Arn}}:live"}
    assert variables["SMOKE_TEST_STATE_MACHINE_ARN"] == {"Ref": "SmokeTestStateMachine"}


def test_hooks_are_deployed_without_alias_or_deployment_of_their_own() -> None:
    template = sam_template()["Resources"]
    for hook in HOOKS.values():
        assert template[hook]["Properties"]["DeploymentPreference"] == {"Enabled": False}
        assert template[hook]["Properties"]["CodeUri"] != sam_template()["Globals"]["Function"]["CodeUri"]
        assert "Events" not in template[hook]["Properties"]
    assert not any(name.startswith(tuple(HOOKS.values())) and name.endswith("Aliaslive") for name in resources())


# ------------------------------------------------------------------ alarms


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_the_function_alarms_watch_the_alias_the_new_version_throttles_and_p99(function: str) -> None:
    template = cfn()
    version = logical_id_of_type(template, f"{function}Version", "AWS::Lambda::Version")
    alias_errors, new_errors, throttles, duration, _table_throttles = (
        template["Resources"][n]["Properties"] for n in FUNCTION_ALARMS[function]
    )
    alias_dimension = {"Name": "Resource", "Value": {"Fn::Sub": f"${{{function}}}:live"}}

    assert (alias_errors["MetricName"], alias_dimension in alias_errors["Dimensions"]) == ("Errors", True)
    assert new_errors["MetricName"] == "Errors"
    assert {"Name": "ExecutedVersion", "Value": {"Fn::GetAtt": [version, "Version"]}} in new_errors["Dimensions"]
    assert throttles["MetricName"] == "Throttles"
    assert {"Name": "FunctionName", "Value": {"Ref": function}} in throttles["Dimensions"]
    assert (duration["MetricName"], duration["ExtendedStatistic"]) == ("Duration", "p99")


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_a_functions_deployment_watches_throttling_of_the_table_operation_it_calls(function: str) -> None:
    """A version that calls DynamoDB more than it should is throttled there first: it stops its own canary."""
    alarm = resources()[FUNCTION_ALARMS[function][-1]]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/DynamoDB", "ThrottledRequests", "Sum")
    assert alarm["Dimensions"] == [
        {"Name": "TableName", "Value": {"Ref": "BirthdaysTable"}},
        {"Name": "Operation", "Value": TABLE_OPERATIONS[function]},
    ]
    assert alarm["Threshold"] == {"Ref": "ThrottlesAlarmThreshold"}


def test_the_tables_system_errors_page_for_every_operation_the_stack_calls() -> None:
    """SystemErrors per operation (TableName and Operation are its dimensions), summed; UserErrors has no
    table dimension at all (it is the account's), so it cannot say anything about this table."""
    alarm = resources()["TableSystemErrorsAlarm"]["Properties"]
    stats = [m["MetricStat"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {(s["Metric"]["Namespace"], s["Metric"]["MetricName"]) for s in stats} == {("AWS/DynamoDB", "SystemErrors")}
    operations = set()
    for stat in stats:
        dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
        assert dimensions["TableName"] == {"Ref": "BirthdaysTable"}
        operations.add(dimensions["Operation"])
    states = state_machine_definition()["States"]
    called_by_the_smoke_test = {
        state["Resource"].rsplit(":", 1)[1] for state in states.values() if ":::dynamodb:" in state.get("Resource", "")
    }
    assert operations == {*TABLE_OPERATIONS.values(), *(op[0].upper() + op[1:] for op in called_by_the_smoke_test)}
    (total,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert total["Expression"] == " + ".join(f"FILL({m['Id']}, 0)" for m in alarm["Metrics"] if "MetricStat" in m)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_duration_alarm_fires_before_the_timeout() -> None:
    template = sam_template()
    threshold = template["Parameters"]["DurationAlarmThresholdMilliseconds"]["Default"]
    assert threshold < template["Globals"]["Function"]["Timeout"] * 1000


def test_every_alarm_notifies_the_alarm_topic_and_is_named_after_the_stack() -> None:
    for logical_id, alarm in resources(resource_type="AWS::CloudWatch::Alarm").items():
        assert alarm["Properties"]["AlarmName"] == {
            "Fn::Sub": f"${{AWS::StackName}}-{logical_id.removesuffix('Alarm')}"
        }
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_the_email_subscription_exists_only_with_an_address() -> None:
    template = cfn()
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_api_5xx_and_smoke_test_alarms() -> None:
    template = cfn()["Resources"]
    api = template["Api5xxAlarm"]["Properties"]
    assert (api["Namespace"], api["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert api["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "GreeterApi"}}]
    smoke = template["SmokeTestFailedAlarm"]["Properties"]["Metrics"]
    watched = {m["MetricStat"]["Metric"]["MetricName"] for m in smoke if "MetricStat" in m}
    assert watched == {"ExecutionsFailed", "ExecutionsTimedOut"}
    for metric in smoke:
        if "MetricStat" in metric:
            assert metric["MetricStat"]["Metric"]["Dimensions"] == [
                {"Name": "StateMachineArn", "Value": {"Ref": "SmokeTestStateMachine"}}
            ]


# ------------------------------------------------------------------ the API calls the aliases


def test_api_integrations_call_the_live_aliases() -> None:
    paths = resources()["GreeterApi"]["Properties"]["Body"]["paths"]["/hello/{username}"]
    expected = dict.fromkeys(("get", "post", "delete", "patch", "head"), "GetGreetingFunctionAliaslive")
    expected["put"] = "PutBirthdayFunctionAliaslive"
    assert set(paths) == {*expected, "options"}
    for method, alias in expected.items():
        uri = paths[method]["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
        assert uri.endswith(f"/functions/${{{alias}}}/invocations")


def test_the_options_route_exists_only_without_cors_and_calls_its_own_function() -> None:
    """OptionsNotAllowedFunction (Condition HasNoCors) has no alias: API Gateway calls the function itself."""
    options = resources()["GreeterApi"]["Properties"]["Body"]["paths"]["/hello/{username}"]["options"]
    condition, operation, otherwise = options["Fn::If"]
    assert (condition, otherwise) == ("HasNoCors", {"Ref": "AWS::NoValue"})
    uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::If"][1]["Fn::Sub"]
    assert uri.endswith("/functions/${OptionsNotAllowedFunction.Arn}/invocations")


def test_invoke_permissions_are_on_the_aliases_only() -> None:
    permissions = resources(resource_type="AWS::Lambda::Permission")
    assert len(permissions) == 7  # one per route: PUT, GET and the five that answer 405
    options = permissions.pop("OptionsNotAllowedFunctionOptionsNotAllowedPermission")
    assert options["Condition"] == "HasNoCors"
    assert options["Properties"]["FunctionName"] == {"Ref": "OptionsNotAllowedFunction"}
    for permission in [*permissions.values(), options]:
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    for permission in permissions.values():
        assert permission["Properties"]["FunctionName"]["Ref"] in {f"{f}Aliaslive" for f in API_FUNCTIONS}


# ------------------------------------------------------------------ least privilege


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("PutBirthdayFunctionRole", {"dynamodb:PutItem"}),
        ("GetGreetingFunctionRole", {"dynamodb:GetItem"}),
        (
            "PutBirthdaySmokeTestHookRole",
            {"states:StartSyncExecution", "codedeploy:PutLifecycleEventHookExecutionStatus"},
        ),
        (
            "GetGreetingSmokeTestHookRole",
            {"states:StartSyncExecution", "codedeploy:PutLifecycleEventHookExecutionStatus"},
        ),
        ("SmokeTestStateMachineRole", {"lambda:InvokeFunction", "dynamodb:DeleteItem", *LOG_DELIVERY_ACTIONS}),
        ("SmokeTestStateMachineSyntheticCanaryRole", {"states:StartExecution"}),
        ("CodeDeployRole", set()),
    ],
)
def test_each_role_has_exactly_the_actions_it_uses(role: str, expected: set[str]) -> None:
    assert actions(resources()[role]) == expected


def api_calls(folder: str) -> set[str]:
    """The IAM actions of the AWS calls the code in a folder makes: each `.<method>` named for an
    operation of a service the folder creates a client of (`client("dynamodb"...)`), as botocore's
    model names it, with the service's IAM prefix (its signing name: stepfunctions signs as states).
    A method counts whether it is called there or handed on to be called (`_timed("GetItem", client.get_item)`)."""
    code = "\n".join(path.read_text() for path in sorted((ROOT / folder).rglob("*.py")))
    session = botocore.session.get_session()
    called = set(re.findall(r"\.([a-z][a-z0-9_]*)\b", code))
    found = set()
    for service in set(re.findall(r"""client\(\s*["']([a-z0-9-]+)["']""", code)):
        model = session.get_service_model(service)
        found |= {f"{model.signing_name}:{op}" for op in model.operation_names if xform_name(op) in called}
    return found


STATE_MACHINE_TASKS = {"arn:aws:states:::lambda:invoke": "lambda:InvokeFunction"}
"""Optimized integrations whose IAM action is not the one the resource names
(https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html)."""


def test_every_api_the_code_calls_is_granted_to_the_roles_that_run_it() -> None:
    """Derived from the code, not from a list: a new call in greeter/, hooks/ or the state machine
    fails here until a role of the code grants it (and test_permissions_boundary, its boundary)."""
    template = resources()
    by_code: dict[str, set[str]] = {}
    for function in resources(resource_type="AWS::Lambda::Function").values():
        role = template[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        by_code.setdefault(function["Properties"]["Code"]["S3Key"], set()).update(actions(role))
    # The scanner finds what the code is known to call (so the check below cannot pass on nothing).
    assert {"dynamodb:GetItem", "dynamodb:PutItem"} <= api_calls("src")
    assert {"states:StartSyncExecution", "codedeploy:PutLifecycleEventHookExecutionStatus"} <= api_calls("hooks")
    for folder, granted in by_code.items():
        assert api_calls(folder) <= granted, folder
    called = set()
    for state in state_machine_definition()["States"].values():
        if state["Type"] == "Task":
            service, api = state["Resource"].removeprefix("arn:aws:states:::").split(":", 1)
            called.add(STATE_MACHINE_TASKS.get(state["Resource"], f"{service}:{api[0].upper()}{api[1:]}"))
    assert {"lambda:InvokeFunction", "dynamodb:DeleteItem"} <= called
    assert called <= actions(template["SmokeTestStateMachineRole"])


def test_function_roles_carry_only_the_logging_and_tracing_managed_policies() -> None:
    for name, role in resources(resource_type="AWS::IAM::Role").items():
        managed = {json.dumps(arn) for arn in role["Properties"].get("ManagedPolicyArns", [])}
        managed = {json.loads(arn) for arn in managed if not arn.startswith("{")}
        if name.endswith(("FunctionRole", "HookRole")):
            assert managed == {
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
            }


def test_no_wildcard_action_and_data_access_is_on_named_resources() -> None:
    for role in resources(resource_type="AWS::IAM::Role").values():
        for statement in statements(role):
            statement_actions = as_list(statement["Action"])
            assert not any("*" in action for action in statement_actions)
            if any(
                action.startswith(("dynamodb:", "lambda:", "states:", "codedeploy:")) for action in statement_actions
            ):
                assert "*" not in as_list(statement["Resource"])


def test_data_access_is_on_the_table_and_the_smoke_test_deletes_only_its_own_item() -> None:
    template = resources()
    table_arn = {"Fn::GetAtt": ["BirthdaysTable", "Arn"]}
    for role in ("PutBirthdayFunctionRole", "GetGreetingFunctionRole", "SmokeTestStateMachineRole"):
        (dynamodb,) = [s for s in statements(template[role]) if str(s["Action"]).startswith("dynamodb:")]
        assert dynamodb["Resource"] == table_arn
    (delete,) = [s for s in statements(template["SmokeTestStateMachineRole"]) if s["Action"] == "dynamodb:DeleteItem"]
    (key,) = delete["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    # The key of a run: the prefix, then an execution ARN of this stack's smoke-test state machine.
    assert key == {
        "Fn::Sub": [
            "${KeyPrefix}arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:*:${AWS::StackName}-smoke-test:*",
            {"KeyPrefix": {"Fn::FindInMap": ["SmokeTest", "Run", "KeyPrefix"]}},
        ]
    }
    assert template["SmokeTestStateMachine"]["Properties"]["StateMachineName"] == {
        "Fn::Sub": "${AWS::StackName}-smoke-test"
    }


def test_the_state_machine_invokes_only_qualified_api_functions() -> None:
    (invoke,) = [
        s for s in statements(resources()["SmokeTestStateMachineRole"]) if s["Action"] == "lambda:InvokeFunction"
    ]
    assert invoke["Resource"] == [{"Fn::Sub": f"${{{function}.Arn}}:*"} for function in API_FUNCTIONS]


@pytest.mark.parametrize(("function", "hook"), HOOKS.items())
def test_a_hook_reports_only_to_its_own_deployment_group(function: str, hook: str) -> None:
    role = resources()[f"{hook}Role"]
    (report,) = [s for s in statements(role) if s["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"]
    assert report["Resource"]["Fn::Sub"].endswith(
        f":deploymentgroup:${{ServerlessDeploymentApplication}}/${{{function}DeploymentGroup}}"
    )
    (start,) = [s for s in statements(role) if s["Action"] == "states:StartSyncExecution"]
    assert start["Resource"] == {"Ref": "SmokeTestStateMachine"}


# ------------------------------------------------------------------ the table


@pytest.mark.parametrize(("config_env", "protected"), [("default", "false"), ("staging", "false"), ("prod", "true")])
def test_the_table_keeps_its_data(config_env: str, protected: str) -> None:
    """Kept on delete and on replacement; only a failed first create removes it, so a retry starts clean."""
    table = resources(config_env)["BirthdaysTable"]
    properties = table["Properties"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("RetainExceptOnCreate", "Retain")
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert parameter_overrides(config_env).get("TableDeletionProtection", "false") == protected


# ------------------------------------------------------------------ observability


def test_every_log_group_has_a_retention() -> None:
    for log_group in resources(resource_type="AWS::Logs::LogGroup").values():
        assert log_group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def test_every_function_logs_to_its_own_group_with_retention_and_is_traced() -> None:
    template = resources()
    functions = {n: r for n, r in template.items() if r["Type"] == "AWS::Lambda::Function"}
    assert set(functions) == {*API_FUNCTIONS, *HOOKS.values(), "OptionsNotAllowedFunction"}
    groups = [f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()]
    assert len(set(groups)) == len(functions)
    for name, function in functions.items():
        log_group = template[function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup", name
        assert "RetentionInDays" in log_group["Properties"]
        assert function["Properties"]["TracingConfig"] == {"Mode": "Active"}


def test_the_api_access_log_is_json_with_the_fields_operators_need() -> None:
    stage = resources()["GreeterApiApiGatewayDefaultStage"]["Properties"]
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    record = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status", "responseLatency", "integrationError"} <= set(record)
    assert record["integrationError"] == "$context.integrationErrorMessage"
    assert "$context.identity.sourceIp" not in record.values()


def test_the_api_throttles_every_route_from_parameters() -> None:
    settings = resources()["GreeterApiApiGatewayDefaultStage"]["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }


def test_powertools_is_configured_from_the_template() -> None:
    for function in API_FUNCTIONS:
        variables = resources()[function]["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_SERVICE_NAME"] == "greeter"
        assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_the_dashboard_shows_api_functions_table_and_smoke_tests() -> None:
    body = resources()["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    document = json.loads(re.sub(r"\$\{[^}]+\}", "1", body))
    rows = [row for widget in document["widgets"] for row in widget["properties"].get("metrics", [])]
    metrics = {row[1] for row in rows if isinstance(row[1], str)}
    assert {"Count", "4xx", "5xx", "Latency", "Errors", "Throttles", "Duration"} <= metrics
    assert {"ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents", "SystemErrors"} <= metrics
    assert "SuccessfulRequestLatency" in metrics
    assert "ExecutionsFailed" in metrics
    stats = {row[-1].get("stat") for row in rows if isinstance(row[-1], dict)}
    assert {"p50", "p99", "Average", "Maximum"} <= stats


def test_the_dashboard_lists_the_slow_dynamodb_calls_the_functions_log() -> None:
    """No tracing library records the DynamoDB call: the store's own warning is what finds a slow one."""
    body = resources()["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
    assert "SOURCE '${GetGreetingLogGroup}' | SOURCE '${PutBirthdayLogGroup}'" in body
    document = json.loads(re.sub(r"\$\{[^}]+\}", "1", body))
    (query,) = [w["properties"]["query"] for w in document["widgets"] if w["type"] == "log"]
    assert f"filter message = '{store.SLOW_CALL_MESSAGE}'" in query
    assert {"operation", "milliseconds", "retries", "xray_trace_id"} <= set(re.split(r"[ ,|]+", query))


def test_no_log_group_skips_checkov_by_claiming_it_holds_no_date_of_birth_while_it_receives_execution_data() -> None:
    """The smoke test's log group receives every state's input and output: its reason must say so."""
    template = sam_template()["Resources"]
    execution_data_destinations = {
        destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
        for resource in template.values()
        if resource["Type"] == "AWS::Serverless::StateMachine"
        and resource["Properties"].get("Logging", {}).get("IncludeExecutionData")
        for destination in resource["Properties"]["Logging"]["Destinations"]
    }
    assert execution_data_destinations == {"SmokeTestLogGroup"}
    for name in execution_data_destinations:
        (skip,) = [s for s in template[name]["Metadata"]["checkov"]["skip"] if s["id"] == "CKV_AWS_158"]
        assert "never a date of birth" not in skip["comment"]
        assert "IncludeExecutionData" in skip["comment"]


# ------------------------------------------------------------------ custom domain


def test_the_custom_domain_is_created_only_when_named() -> None:
    template = cfn()
    assert template["Resources"]["ApiDomainName"]["Condition"] == "HasCustomDomain"
    assert template["Resources"]["ApiDomainMapping"]["Condition"] == "HasCustomDomain"
    assert template["Resources"]["ApiDnsRecord"]["Condition"] == "HasDnsRecord"
    assert template["Resources"]["ApiDomainMapping"]["Properties"]["Stage"] == {
        "Ref": "GreeterApiApiGatewayDefaultStage"
    }
    for parameter in ("DomainName", "CertificateArn", "HostedZoneId"):
        assert template["Parameters"][parameter]["Default"] == ""


# ------------------------------------------------------------------ the smoke test


def test_the_smoke_test_state_machine_is_express_logged_and_traced() -> None:
    properties = resources()["SmokeTestStateMachine"]["Properties"]
    assert properties["StateMachineType"] == "EXPRESS"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    (destination,) = properties["LoggingConfiguration"]["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": ["SmokeTestLogGroup", "Arn"]}
    assert "DefinitionS3Location" in properties


def test_every_placeholder_in_the_definition_has_a_substitution() -> None:
    declared = set(resources()["SmokeTestStateMachine"]["Properties"]["DefinitionSubstitutions"])
    used = set(re.findall(r"\$\{([^}]+)\}", json.dumps(state_machine_definition())))
    assert used == declared


def test_the_smoke_test_cleans_up_with_the_direct_dynamodb_integration() -> None:
    states = state_machine_definition()["States"]
    delete = states["DeleteSmokeTestItem"]
    assert delete["Resource"] == "arn:aws:states:::dynamodb:deleteItem"
    assert delete["Parameters"]["Key"] == {
        "username": {"S.$": "States.Format('${SmokeTestKeyPrefix}{}', $$.Execution.Id)"}
    }
    for name in ("PutSmokeTestUser", "GetSmokeTestUser"):
        assert [catch["ErrorEquals"] for catch in states[name]["Catch"]] == [["States.ALL"]]


@pytest.mark.parametrize(
    ("config_env", "state"), [("default", "DISABLED"), ("staging", "ENABLED"), ("prod", "ENABLED")]
)
def test_the_synthetic_canary_runs_against_live_outside_dev(config_env: str, state: str) -> None:
    template = cfn(config_env)
    schedule = template["Resources"]["SmokeTestStateMachineSyntheticCanary"]["Properties"]
    condition, if_true, if_false = schedule["State"]["Fn::If"]
    (left, right) = template["Conditions"][condition]["Fn::Equals"]
    environment = parameter_overrides(config_env)["Environment"]
    assert (if_true if environment == right and left == {"Ref": "Environment"} else if_false) == state
    assert schedule["ScheduleExpression"] == {"Ref": "SyntheticCanarySchedule"}
    assert schedule["Target"]["Arn"] == {"Ref": "SmokeTestStateMachine"}
    assert schedule["Target"]["Input"] == {
        "Fn::Sub": '{"putFunctionArn": "${PutBirthdayFunction.Arn}:live", '
        '"getFunctionArn": "${GetGreetingFunction.Arn}:live"}'
    }


# ------------------------------------------------------------------ samconfig.toml


def test_samconfig_has_dev_staging_and_prod() -> None:
    config = samconfig()
    for config_env, environment in ENVIRONMENTS.items():
        deploy = config[config_env]["deploy"]["parameters"]
        stack_name = config[config_env].get("global", {}).get("parameters", {}).get("stack_name")
        assert stack_name == f"birthday-greeter-{environment}"
        assert parameter_overrides(config_env)["Environment"] == environment
        assert f"Environment={environment}" in shlex.split(deploy["tags"])
    assert config["prod"]["deploy"]["parameters"]["confirm_changeset"] is True
    assert parameter_overrides("prod")["DeploymentType"] == "Canary10Percent5Minutes"


def test_the_definition_is_valid_asl_for_cfn_lint() -> None:
    """cfn-lint's state machine schema (E3601...) on the definition, as if it were inline."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "SmokeTest": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/smoke-test",
                    "StateMachineType": "EXPRESS",
                    "Definition": state_machine_definition(),
                },
            }
        },
    }
    errors = [str(match) for match in lint_all(json.dumps(template)) if match.rule.id.startswith(("E", "W"))]
    assert errors == []


def test_every_transition_leads_to_a_state_and_every_state_is_reachable() -> None:
    definition = state_machine_definition()
    states = definition["States"]

    def targets(state: dict[str, Any]) -> list[str]:
        found = [state[key] for key in ("Next", "Default") if key in state]
        found += [choice["Next"] for choice in state.get("Choices", [])]
        found += [catch["Next"] for catch in state.get("Catch", [])]
        return found

    reachable, pending = set(), [definition["StartAt"]]
    while pending:
        name = pending.pop()
        if name not in reachable:
            reachable.add(name)
            pending.extend(targets(states[name]))
    assert reachable == set(states)
    assert {name for name, state in states.items() if state["Type"] in {"Succeed", "Fail"}} == {
        "SmokeTestPassed",
        "SmokeTestFailed",
    }
