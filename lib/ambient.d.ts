// Files the build embeds with `with { type: "file" }` import as their path.
declare module "*.zst" {
  const path: string;
  export default path;
}
declare module "*.meta" {
  const path: string;
  export default path;
}
// Text files the build inlines with `with { type: "text" }` import as their content.
declare module "*.service" {
  const text: string;
  export default text;
}
