/**
 * Fill `{{name}}` placeholders. A placeholder without a value throws, so a typo in a template can
 * never reach the JVM as a literal `{{port}}`.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder {{${name}}} has no value`);
    return String(value);
  });
}
