// Setup: what a customer creates in AWS for each credential type, filled in for this tenant
// (GET /aws/setup), with every policy and template ready to copy or download.

import { ApiError, api, isAbort } from "../api.js";
import { CREDENTIAL_TYPES, busy, copyBlock, copyableCode, field, h, loading, nextId, notice, problemBox, replace } from "../dom.js";

const json = (document) => `${JSON.stringify(document, null, 2)}\n`;
const ACCOUNT_ID = /^\d{12}$/;

function steps(...items) {
  return h("ol", { class: "setup-steps" }, items.map((item) => h("li", {}, item)));
}

function section(type, ...body) {
  const headingId = nextId("setup");
  return h(
    "section",
    { class: "card stack setup-type", dataset: { credentialType: type }, "aria-labelledby": headingId },
    h("h2", { id: headingId }, CREDENTIAL_TYPES[type].label),
    h("p", { class: "muted" }, CREDENTIAL_TYPES[type].help),
    body,
  );
}

/** A value to paste elsewhere (the external id, the principal ARN), with its Copy button. */
function copyValue(term, value, key) {
  return h("div", { dataset: { value: key } }, h("dt", {}, term), h("dd", {}, copyableCode(value, term)));
}

const addIntegration = () => h("a", { href: "#/integrations" }, "Integrations");

function awsUserSection(readOnlyPolicy) {
  return section(
    "aws_user",
    steps(
      "In the AWS account whose APIs you want Onboarder to find, open IAM → Users and create a user without console access, for example onboarder-reader.",
      "Add an inline policy to the user and paste the policy below. It allows only apigateway:GET: it reads API Gateway's configuration and can change nothing.",
      "Create an access key for the user (use case: application running outside AWS). Copy the access key id and the secret access key: AWS shows the secret only once.",
      h("span", {}, "In ", addIntegration(), ", add a connection of type “IAM user access key” with that key."),
    ),
    copyBlock({ title: "Read-only policy (JSON)", text: json(readOnlyPolicy), filename: "onboarder-read-only-policy.json", type: "application/json" }),
  );
}

function assumeRoleSection(setup) {
  return section(
    "assume_role",
    steps(
      "In the AWS account whose APIs you want Onboarder to find, open IAM → Roles → Create role and choose “Custom trust policy”.",
      "Paste the trust policy below: only Onboarder's principal may assume the role, and only with your external id.",
      "Add the read-only policy below as the role's permissions policy (apigateway:GET, nothing else).",
      "Name the role, for example APIGatewayAccessRole, create it and copy its ARN.",
      h("span", {}, "In ", addIntegration(), ", add a connection of type “Assume role” with that role ARN."),
    ),
    copyBlock({ title: "Trust policy (JSON)", text: json(setup.trust_policy), filename: "onboarder-assume-role-trust-policy.json", type: "application/json" }),
    copyBlock({ title: "Permissions policy (JSON)", text: json(setup.read_only_policy), filename: "onboarder-read-only-policy.json", type: "application/json" }),
  );
}

function centralRoleSection(setup, reload) {
  const central = setup.central_role;
  const child = setup.child_role;
  const input = h("input", { type: "text", name: "management_account_id", inputmode: "numeric", autocomplete: "off", spellcheck: "false", placeholder: "123456789012", maxlength: 12 });
  const apply = h("button", { type: "submit", class: "button button-small" }, "Fill In");
  const result = h("div");
  const form = h(
    "form",
    { class: "setup-account-form", novalidate: true },
    field("Management account id", input, { optional: true, help: "Fills in the child-role template's ManagementAccountId default." }),
    h("div", { class: "actions" }, apply),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (value && !ACCOUNT_ID.test(value)) {
      replace(result, notice("error", "A management account id has 12 digits, e.g. 123456789012."));
      input.focus();
      return;
    }
    replace(result);
    await busy(apply, "Filling in…", () => reload(value || null));
  });
  return section(
    "central_role",
    steps(
      "Sign in to your organization's management account. AWS Organizations must have all features enabled, and trusted access for CloudFormation StackSets must be on (CloudFormation → StackSets → Enable trusted access).",
      `Create a stack from the central-role template below (CloudFormation → Create stack → Upload a template file) and acknowledge that it creates a named IAM role. It creates ${central.role_name}, which only Onboarder's principal may assume, with your external id. Copy the stack's RoleArn output.`,
      `Create a StackSet from the child-role template below with service-managed permissions and your management account's id as ManagementAccountId. Deploy it to the organization's root or to the OUs to scan, turn automatic deployment on (accounts added later get ${child.role_name} too), and pick a single region: IAM roles are global.`,
      `StackSets never deploy to the management account itself. If it has APIs too, create a plain stack there from the child-role template.`,
      h("span", {}, "In ", addIntegration(), ", add a connection of type “Central role” with the RoleArn from step 2."),
    ),
    copyBlock({
      title: `Central role template: ${central.role_name} (CloudFormation, YAML)`,
      text: central.cloudformation_template,
      filename: "onboarder-central-role.yaml",
      type: "application/yaml",
      help: "A stack in the management account.",
    }),
    form,
    copyBlock({
      title: `Child role template: ${child.role_name} (CloudFormation StackSet, YAML)`,
      text: child.cloudformation_template,
      filename: "onboarder-child-role-stackset.yaml",
      type: "application/yaml",
      help: "A service-managed StackSet for the member accounts.",
    }),
  );
}

// Said when the service has no AWS identity of its own: roles cannot name whom to trust.
function noIdentity(problem) {
  return notice(
    "warn",
    "Onboarder has no AWS identity of its own yet",
    h(
      "p",
      {},
      "Roles (assume role, central role) must trust the AWS identity Onboarder itself runs as, and this Onboarder cannot tell what that is",
      problem.detail ? `: ${problem.detail.replace(/^The service could not determine its own AWS identity: /, "")}` : ".",
    ),
    h(
      "p",
      {},
      h("strong", {}, "What the operator configures: "),
      "either AWS credentials for the service (",
      h("code", {}, "AWS_ACCESS_KEY_ID"),
      " and ",
      h("code", {}, "AWS_SECRET_ACCESS_KEY"),
      ", a profile with ",
      h("code", {}, "AWS_PROFILE"),
      ", or an instance or container role) so that sts:GetCallerIdentity succeeds, or ",
      h("code", {}, "ONBOARDER_PLATFORM_PRINCIPAL_ARN"),
      " set to the ARN customers' roles should trust. Then restart Onboarder and open this page again.",
    ),
    h("p", {}, "An IAM user's access key needs no platform identity: that way works now."),
    problem.code ? h("p", { class: "alert-meta" }, `code ${problem.code}`) : null,
  );
}

export async function setupView(container, context) {
  context.setTitle("Setup");
  const body = h("div", { class: "stack" }, loading("Loading what to set up in AWS…"));
  replace(
    container,
    h(
      "div",
      { class: "stack setup-page" },
      h(
        "div",
        { class: "page-head" },
        h(
          "div",
          {},
          h("h1", {}, "Set Up AWS Access"),
          h("p", { class: "muted" }, "What to create in AWS so that Onboarder can read your API Gateway APIs: pick the way that fits, follow its steps, and paste or upload what it shows."),
        ),
      ),
      body,
    ),
  );

  async function load(managementAccountId) {
    let setup;
    try {
      setup = await api("/aws/setup", { query: { management_account_id: managementAccountId }, signal: context.signal });
    } catch (error) {
      if (isAbort(error)) return;
      if (error instanceof ApiError && error.code === "platform_identity_unavailable") {
        const problem = error.problem;
        replace(
          body,
          noIdentity(problem),
          problem.external_id
            ? h("section", { class: "card stack" }, h("h2", {}, "Your tenant"), h("dl", { class: "facts setup-values" }, copyValue("External id", problem.external_id, "external_id")))
            : null,
          problem.read_only_policy ? awsUserSection(problem.read_only_policy) : null,
        );
        return;
      }
      replace(body, problemBox(error), h("div", { class: "actions" }, h("button", { type: "button", class: "button", onClick: () => load(managementAccountId) }, "Try Again")));
      return;
    }
    replace(
      body,
      h(
        "section",
        { class: "card stack" },
        h("h2", {}, "What your roles trust"),
        h("p", { class: "muted" }, "The trust policies and templates below already name both."),
        h(
          "dl",
          { class: "facts setup-values" },
          copyValue("Onboarder's AWS principal", setup.platform_principal_arn, "platform_principal_arn"),
          copyValue("Your external id", setup.external_id, "external_id"),
        ),
      ),
      centralRoleSection(setup, load),
      assumeRoleSection(setup),
      awsUserSection(setup.read_only_policy),
    );
    if (managementAccountId) {
      const input = body.querySelector('input[name="management_account_id"]');
      if (input) {
        input.value = managementAccountId;
        input.focus();
      }
    }
  }

  await load(null);
}
