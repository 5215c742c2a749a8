// @actions/workflow-parser imports its JSON schema without an import attribute, which Node 22 accepts and
// Node 20 refuses; this load hook supplies the attribute. Test tooling only.
export async function load(url, context, nextLoad) {
  if (url.endsWith(".json")) return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  return nextLoad(url, context);
}
