// Validates each OpenAPI document named on the command line with @apidevtools/swagger-parser
// (pinned in contract/package.json, installed by contract/run). Exits 1 if any is invalid.
const SwaggerParser = require("@apidevtools/swagger-parser");

async function main(files) {
  let failed = false;
  for (const file of files) {
    try {
      await SwaggerParser.validate(file);
      console.log(`${file}: OK (swagger-parser)`);
    } catch (error) {
      console.error(`${file}: ${error.message}`);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2));
