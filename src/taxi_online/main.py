"""Deploy the taxi fare model to an Azure ML managed online endpoint, blue/green (see --help).

1. create or update the endpoint (endpoint.yml; the traffic it has is kept),
2. create the new deployment (deployment.yml) under the colour that is not live: blue, then green, ...,
3. smoke-test it with a request built from the model's signature (the model is downloaded for that),
4. move all traffic to it; the old deployment stays at 0% for a rollback (or --delete-old removes it).

If the smoke test fails, traffic is not touched. `--dry-run` loads and prints both YAMLs with the SDK's
loaders and the plan, with no network access. `make job EXP=taxi_online` runs this as a command job in
Azure ML (azure-ml-job.yaml), signed in with the compute's managed identity.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from common.azure_deploy import (
    DeployError,
    as_yaml,
    deployment_folder,
    fail,
    ml_client,
    parse_model,
    resolve_model,
    say,
)

HERE = Path(__file__).resolve().parent
COLOURS = ("blue", "green")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-file", type=Path, default=HERE / "endpoint.yml")
    parser.add_argument("--deployment-file", type=Path, default=HERE / "deployment.yml")
    parser.add_argument(
        "--endpoint-name", default="", help="override the endpoint's name (unique per region)"
    )
    parser.add_argument("--deployment-name", default="", help="override the colour chosen (blue/green)")
    parser.add_argument(
        "--model", default="", help="name:version or name@latest (default: the deployment YAML's)"
    )
    parser.add_argument("--instance-type", default="", help="e.g. Standard_DS3_v2 (default: the YAML's)")
    parser.add_argument("--instance-count", type=int, default=0, help="default: the YAML's")
    parser.add_argument("--sample-rows", type=int, default=2, help="rows in the smoke-test request")
    parser.add_argument("--delete-old", action="store_true", help="delete the previous deployment afterwards")
    parser.add_argument("--subscription-id", default="")
    parser.add_argument("--resource-group", default="")
    parser.add_argument("--workspace", default="")
    parser.add_argument(
        "--dry-run", action="store_true", help="load and print the YAMLs and the plan; no network"
    )
    return parser.parse_args(argv)


def load_entities(args: argparse.Namespace, deployment_file: Path):
    """The endpoint and deployment as the SDK loads them, with the command line's overrides."""
    from azure.ai.ml import load_online_deployment, load_online_endpoint

    endpoint_override = [{"name": args.endpoint_name}] if args.endpoint_name else []
    endpoint = load_online_endpoint(args.endpoint_file, params_override=endpoint_override)
    overrides = [{"endpoint_name": endpoint.name}]
    if args.deployment_name:
        overrides.append({"name": args.deployment_name})
    if args.model:
        name, version, label = parse_model(args.model)
        overrides.append({"model": f"azureml:{name}:{version}" if version else f"azureml:{name}@{label}"})
    if args.instance_type:
        overrides.append({"instance_type": args.instance_type})
    if args.instance_count:
        overrides.append({"instance_count": args.instance_count})
    deployment = load_online_deployment(deployment_file, params_override=overrides)
    return endpoint, deployment


def next_colour(live: str | None, proposed: str) -> str:
    """The colour to deploy: the YAML's unless that one is live, then the other one."""
    if live != proposed:
        return proposed
    if proposed in COLOURS:
        return COLOURS[1 - COLOURS.index(proposed)]
    return f"{proposed}-next"


def live_deployment(traffic: dict[str, int]) -> str | None:
    """The deployment with the most traffic, if any has some."""
    live = [(share, name) for name, share in (traffic or {}).items() if share]
    return max(live)[1] if live else None


def main(argv: list[str] | None = None, client=None) -> int:
    """Deploy (or, with --dry-run, print what would be deployed); returns the exit code."""
    args = parse_args(argv)
    try:
        # The deployment's code (`code: .`) must hold common/ as well as score.py: the YAML is loaded from the
        # snapshot `make job` stages (inside the job, the folder main.py runs in already is that snapshot).
        with deployment_folder(args.deployment_file, extra=("docker",)) as folder:
            return run(args, folder / args.deployment_file.name, client)
    except DeployError as exc:
        return fail(str(exc), 2)


def run(args: argparse.Namespace, deployment_file: Path, client=None) -> int:
    try:
        endpoint, deployment = load_entities(args, deployment_file)
    except Exception as exc:  # noqa: BLE001 - the SDK raises many validation types; one line is enough
        return fail(f"cannot load the endpoint or deployment YAML: {str(exc).strip().splitlines()[0]}", 2)
    if args.dry_run:
        say(f"# dry run: nothing is sent to Azure ML\n# endpoint ({args.endpoint_file.name})")
        say(as_yaml(endpoint))
        say(f"# deployment ({args.deployment_file.name}); its name becomes the colour that is not live")
        say(as_yaml(deployment))
        say(
            f"# plan: create or update endpoint {endpoint.name}; create deployment blue or green with model "
            f"{deployment.model}; smoke-test it with {args.sample_rows} rows built from the model's "
            "signature; then move 100% of the traffic to it"
        )
        return 0
    client = client or ml_client(args.subscription_id, args.resource_group, args.workspace)
    return deploy(client, endpoint, deployment, args)


def deploy(client, endpoint, deployment, args: argparse.Namespace) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        existing = client.online_endpoints.get(name=endpoint.name)
    except ResourceNotFoundError:
        existing = None
    traffic = dict(existing.traffic or {}) if existing is not None else {}
    live = live_deployment(traffic)
    deployment.name = args.deployment_name or next_colour(live, deployment.name)
    name, version = resolve_model(client, str(deployment.model))
    deployment.model = f"azureml:{name}:{version}"
    state = "new" if existing is None else f"live: {live or 'none'}"
    say(f"deploy: endpoint {endpoint.name} ({state})")

    endpoint.traffic = traffic  # updating the endpoint must not move traffic yet
    client.online_endpoints.begin_create_or_update(endpoint).result()
    say(f"deploy: creating deployment {deployment.name} with model {name}:{version}")
    client.online_deployments.begin_create_or_update(deployment).result()

    problem = smoke_test(client, endpoint.name, deployment.name, name, version, args.sample_rows)
    if problem:
        return fail(
            f"smoke test of {deployment.name} failed: {problem}; traffic unchanged ({traffic or 'none'})"
        )

    endpoint.traffic = {other: 0 for other in traffic} | {deployment.name: 100}
    client.online_endpoints.begin_create_or_update(endpoint).result()
    say(f"deploy: traffic {endpoint.traffic}")
    if args.delete_old:
        for other in traffic:
            if other != deployment.name:
                client.online_deployments.begin_delete(name=other, endpoint_name=endpoint.name).result()
                say(f"deploy: deleted the previous deployment {other}")
    final = client.online_endpoints.get(name=endpoint.name)
    say(f"deploy: {deployment.name} live at {final.scoring_uri}")
    return 0


def smoke_test(client, endpoint_name: str, deployment_name: str, model: str, version: str, rows: int) -> str:
    """Invoke the new deployment directly with a request built from the model; '' when it answers well."""
    from common.signature import sample_request

    with tempfile.TemporaryDirectory(prefix="taxi-online-smoke-") as work:
        client.models.download(name=model, version=version, download_path=work)
        try:
            request = sample_request(work, rows=rows)
        except RuntimeError as exc:
            return str(exc)
        request_file = Path(work) / "sample-request.json"
        request_file.write_text(json.dumps(request))
        try:
            answer = client.online_endpoints.invoke(
                endpoint_name=endpoint_name, deployment_name=deployment_name, request_file=str(request_file)
            )
        except Exception as exc:  # noqa: BLE001 - any failure of the call fails the smoke test
            return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    try:
        predictions = json.loads(answer) if isinstance(answer, (str, bytes)) else answer
    except ValueError:
        return f"the answer is not JSON: {str(answer)[:200]}"
    if not isinstance(predictions, list) or len(predictions) != len(request["input_data"]["data"]):
        return f"expected {rows} predictions, got {str(answer)[:200]}"
    if not all(isinstance(value, (int, float)) for value in predictions):
        return f"non-numeric predictions: {str(answer)[:200]}"
    say(f"deploy: smoke test of {deployment_name}: {len(predictions)} predictions {predictions}")
    return ""


if __name__ == "__main__":
    sys.exit(main())
