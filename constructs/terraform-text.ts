/**
 * Text that goes into Terraform JSON as a literal. Terraform reads every JSON string as a template: "${...}" is an
 * interpolation and "%{...}" a directive, so generated files that contain them (Squid and c-icap log formats use
 * "%{Header}") would be evaluated — or refused — by Terraform. Escaping ("$${", "%%{") makes Terraform write
 * them back as they were. The one place that escapes literal file content, and the one that undoes it for readers
 * of the synthesized JSON (render, tests).
 * https://developer.hashicorp.com/terraform/language/expressions/strings#escape-sequences-1
 */

export function terraformLiteral(text: string): string {
  // a replacer function, because "$$" in a replacement string means one "$"
  return text.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
}

/** What Terraform makes of a string written by terraformLiteral (the file as it lands in S3). */
export function fromTerraformLiteral(text: string): string {
  return text.replace(/\$\$\{/g, () => "${").replace(/%%\{/g, () => "%{");
}
