"""Deploy the taxi fare model to an Azure ML batch endpoint, and optionally score a data asset with it.

1. create or update the batch endpoint (batch-endpoint.yml),
2. create or update the deployment (batch-deployment.yml: batch_driver.py, mini-batches, retries, error
   threshold, compute) with the model resolved to a fixed version, and make it the endpoint's default,
3. with --invoke DATA (e.g. azureml:nyc_taxi_raw@latest, or a folder URI), start a scoring job on DATA and
   print its name (--stream waits for it).

`--dry-run` loads and prints both YAMLs with the SDK's loaders and the plan, with no network access;
--skip-deploy only invokes. `make job EXP=taxi_batch` runs this in Azure ML with the compute's identity.
"""

from __future__ import annotations

import argparse
import sys
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-file", type=Path, default=HERE / "batch-endpoint.yml")
    parser.add_argument("--deployment-file", type=Path, default=HERE / "batch-deployment.yml")
    parser.add_argument(
        "--endpoint-name", default="", help="override the endpoint's name (unique per region)"
    )
    parser.add_argument("--model", default="", help="name:version or name@latest (default: the YAML's)")
    parser.add_argument("--compute", default="", help="cluster for the scoring jobs (default: the YAML's)")
    parser.add_argument(
        "--invoke",
        help="score this folder or data asset after deploying (absent: only deploy)",
    )
    parser.add_argument(
        "--skip-deploy", action="store_true", help="only invoke the endpoint's default deployment"
    )
    parser.add_argument("--stream", action="store_true", help="wait for the scoring job and stream its logs")
    parser.add_argument("--subscription-id", default="")
    parser.add_argument("--resource-group", default="")
    parser.add_argument("--workspace", default="")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the loaded YAMLs and the plan; no network"
    )
    return parser.parse_args(argv)


def load_entities(args: argparse.Namespace, deployment_file: Path):
    from azure.ai.ml import load_batch_deployment, load_batch_endpoint

    endpoint = load_batch_endpoint(
        args.endpoint_file, params_override=[{"name": args.endpoint_name}] if args.endpoint_name else []
    )
    overrides = [{"endpoint_name": endpoint.name}]
    if args.model:
        name, version, label = parse_model(args.model)
        overrides.append({"model": f"azureml:{name}:{version}" if version else f"azureml:{name}@{label}"})
    if args.compute:
        overrides.append({"compute": args.compute})
    deployment = load_batch_deployment(deployment_file, params_override=overrides)
    return endpoint, deployment


def main(argv: list[str] | None = None, client=None) -> int:
    args = parse_args(argv)
    if args.invoke == "":
        return fail("--invoke needs DATA (a folder or data asset); leave it out to only deploy", 2)
    if args.skip_deploy and not args.invoke:
        return fail("--skip-deploy needs --invoke DATA", 2)
    try:
        # The deployment's code (`code: .`) must hold common/ as well as batch_driver.py: the YAML is loaded
        # from the snapshot `make job` stages (inside the job, main.py already runs in that snapshot).
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
        say(f"# dry run: nothing is sent to Azure ML\n# batch endpoint ({args.endpoint_file.name})")
        say(as_yaml(endpoint))
        say(f"# batch deployment ({args.deployment_file.name})")
        say(as_yaml(deployment))
        plan = (
            []
            if args.skip_deploy
            else [
                f"create or update endpoint {endpoint.name}",
                f"create or update deployment {deployment.name} with model {deployment.model} as its default",
            ]
        )
        if args.invoke:
            plan.append(f"invoke {endpoint.name} on {args.invoke}")
        say("# plan: " + "; ".join(plan))
        return 0
    client = client or ml_client(args.subscription_id, args.resource_group, args.workspace)
    if not args.skip_deploy:
        deploy(client, endpoint, deployment)
    if args.invoke:
        return invoke(client, endpoint.name, args.invoke, args.stream)
    return 0


def deploy(client, endpoint, deployment) -> None:
    name, version = resolve_model(client, str(deployment.model))
    deployment.model = f"azureml:{name}:{version}"
    say(f"deploy: batch endpoint {endpoint.name}")
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    say(f"deploy: deployment {deployment.name} with model {name}:{version} on {deployment.compute}")
    client.batch_deployments.begin_create_or_update(deployment).result()
    current = client.batch_endpoints.get(name=endpoint.name)
    current.defaults.deployment_name = deployment.name
    client.batch_endpoints.begin_create_or_update(current).result()
    say(f"deploy: {deployment.name} is the default deployment of {endpoint.name}")


def invoke(client, endpoint_name: str, data: str, stream: bool) -> int:
    from azure.ai.ml import Input
    from azure.ai.ml.constants import AssetTypes

    kind = AssetTypes.URI_FILE if data.lower().endswith((".csv", ".parquet")) else AssetTypes.URI_FOLDER
    job = client.batch_endpoints.invoke(endpoint_name=endpoint_name, input=Input(type=kind, path=data))
    say(f"invoke: scoring job {job.name} on {data}; predictions.csv is in its output")
    if stream:
        client.jobs.stream(job.name)
        status = client.jobs.get(job.name).status
        say(f"invoke: job {job.name} {status}")
        return 0 if status == "Completed" else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
