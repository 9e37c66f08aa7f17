// Reads a JSON array of {"id", "simulation"} on stdin and writes {"<id>": {"result", "errors"}} on
// stdout: one Node process judges a whole batch of cases with @cloud-copilot/iam-simulate.
// "ignored" lists the context keys the simulator does not know for the action: it drops them
// silently, so the caller refuses a case that has any (it would prove nothing).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const out = {}
for (const { id, simulation } of cases) {
  const response = await runSimulation(simulation, {})
  out[id] =
    response.resultType === 'error'
      ? { result: null, errors: response.errors, ignored: [] }
      : {
          result: response.overallResult,
          errors: null,
          ignored: [
            ...new Set(
              (response.resultType === 'single' ? [response.result] : response.results).flatMap(
                (r) => r.ignoredContextKeys ?? []
              )
            )
          ]
        }
}
process.stdout.write(JSON.stringify(out))
