// Files the build embeds with `with { type: "file" }` import as their path.
declare module "*.zst" {
  const path: string;
  export default path;
}
declare module "*.meta" {
  const path: string;
  export default path;
}
