// The Models tool: open an .onnx file (file input, drag and drop, or the project's MNIST gallery),
// keep it in IndexedDB, and inspect it in a Web Worker: nodes with shapes, parameters, gas at
// batch 1, and which tiers can serve it and why not. Routes: #/workspace and #/workspace/<file>.

import { type DragEvent, useEffect, useState, useSyncExternalStore } from 'react';
import mnistCnnUrl from '../../../../runtime/models/mnist-cnn.onnx?url';
import mnistMlpUrl from '../../../../runtime/models/mnist-mlp.onnx?url';
import { href, navigate } from '../../app/router.ts';
import type { Tool, ToolProps } from '../../app/tool.ts';
import { ErrorBox, Loading } from '../explorer/ui.tsx';
import type { InspectResult, WorkerRequest, WorkerResponse } from './protocol.ts';
import { indexedDbBackend, type ModelMeta, ModelStore } from './store.ts';
import { groupDigits, tierReport } from './summary.ts';

const ID = 'workspace';

export const GALLERY = [
  { file: 'mnist-mlp.onnx', url: mnistMlpUrl, label: 'MNIST MLP', about: 'Gemm 784→128, Relu, Gemm 128→10' },
  {
    file: 'mnist-cnn.onnx',
    url: mnistCnnUrl,
    label: 'MNIST CNN',
    about: 'two Conv/Relu/MaxPool, Gemm 784→10',
  },
] as const;

let store: ModelStore | undefined;
const getStore = () => {
  store ??= new ModelStore(indexedDbBackend());
  return store;
};

// The side panel's list: refreshed whenever a file is saved or removed.
let version = 0;
const listeners = new Set<() => void>();
function changed() {
  version++;
  for (const l of listeners) l();
}
function useVersion(): number {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => version,
  );
}

async function keep(name: string, bytes: Uint8Array): Promise<void> {
  const id = await getStore().save(name, bytes);
  changed();
  navigate([ID, id]);
}

async function keepFiles(files: FileList | null | undefined): Promise<void> {
  const file = files?.[0];
  if (!file) return;
  await keep(file.name, new Uint8Array(await file.arrayBuffer()));
}

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, (r: WorkerResponse) => void>();
function inspectInWorker(bytes: Uint8Array): Promise<InspectResult> {
  if (!worker) {
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      pending.get(e.data.id)?.(e.data);
      pending.delete(e.data.id);
    };
  }
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, (r) => (r.ok ? resolve(r.result) : reject(new Error(r.error))));
    const msg: WorkerRequest = { id, type: 'inspect', bytes };
    worker!.postMessage(msg);
  });
}

function SidePanel({ route }: ToolProps) {
  const v = useVersion();
  const [files, setFiles] = useState<ModelMeta[]>([]);
  const [error, setError] = useState<string>();
  const current = route.segments[1];
  useEffect(() => {
    void v;
    getStore()
      .list()
      .then(setFiles, (err: Error) => setError(`The browser's storage is not available: ${err.message}`));
  }, [v]);
  const fail = (err: unknown) => setError((err as Error).message);
  const openGallery = async (g: (typeof GALLERY)[number]) => {
    setError(undefined);
    const res = await fetch(g.url);
    if (!res.ok) throw new Error(`${g.file}: HTTP ${res.status}`);
    await keep(g.file, new Uint8Array(await res.arrayBuffer()));
  };
  return (
    <div className="stack models-side">
      <label className="button models-open">
        Open .onnx
        <input
          type="file"
          accept=".onnx"
          data-testid="onnx-input"
          onChange={(e) => {
            setError(undefined);
            keepFiles(e.currentTarget.files).catch(fail);
            e.currentTarget.value = '';
          }}
        />
      </label>
      {error && <ErrorBox>{error}</ErrorBox>}
      <section aria-label="Example models">
        <h3>Examples</h3>
        <ul className="nav-list" data-testid="models-gallery">
          {GALLERY.map((g) => (
            <li key={g.file}>
              <button type="button" className="link-button" onClick={() => openGallery(g).catch(fail)}>
                {g.label}
              </button>
              <small className="muted"> {g.about}</small>
            </li>
          ))}
        </ul>
      </section>
      <section aria-label="Your models">
        <h3>In this browser</h3>
        {files.length === 0 ? (
          <p className="muted">No files yet.</p>
        ) : (
          <ul className="nav-list" data-testid="models-files">
            {files.map((f) => (
              <li key={f.id} className="models-file">
                <a href={href([ID, f.id])} aria-current={current === f.id ? 'page' : undefined}>
                  {f.name}
                </a>
                <small className="muted"> {groupDigits(f.size)} B</small>
                <button
                  type="button"
                  className="link-button"
                  aria-label={`Delete ${f.name}`}
                  onClick={() => {
                    getStore()
                      .remove(f.id)
                      .then(() => {
                        changed();
                        if (current === f.id) navigate([ID]);
                      }, fail);
                  }}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

type View =
  | { state: 'loading' }
  | { state: 'error'; message: string }
  | { state: 'done'; result: InspectResult };

function Inspect({ id }: { id: string }) {
  const [view, setView] = useState<View>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    (async () => {
      const m = await getStore().open(id);
      if (!m) throw new Error(`There is no file "${id}" in this browser. Open it again.`);
      return inspectInWorker(m.bytes);
    })().then(
      (result) => live && setView({ state: 'done', result }),
      (err: Error) => live && setView({ state: 'error', message: err.message }),
    );
    return () => {
      live = false;
    };
  }, [id]);
  if (view.state === 'loading') return <Loading what={`${id} (importing in a worker)`} />;
  if (view.state === 'error')
    return (
      <ErrorBox>
        {id} cannot be imported: {view.message}
      </ErrorBox>
    );
  const { summary: s, tiers, tiersNote } = view.result;
  return (
    <div className="stack" data-testid="model-summary">
      <h2>{id}</h2>
      <dl className="fields">
        <dt>Graph</dt>
        <dd>
          {s.name || '(unnamed)'} · opset {s.opset}
        </dd>
        <dt>Inputs</dt>
        <dd>{s.inputs.map((i) => `${i.name} ${i.shape}`).join(', ')}</dd>
        <dt>Outputs</dt>
        <dd>{s.outputs.map((o) => `${o.name} ${o.shape}`).join(', ')}</dd>
        <dt>Operators</dt>
        <dd>
          {Object.entries(s.ops)
            .map(([op, n]) => `${op} ×${n}`)
            .join(', ')}
        </dd>
        <dt>Parameters</dt>
        <dd data-testid="model-params">{groupDigits(s.params)}</dd>
        <dt>Gas (batch 1)</dt>
        <dd>{s.gas === null ? `cannot be estimated: ${s.gasError}` : groupDigits(s.gas)}</dd>
      </dl>
      <h3>Tiers</h3>
      {tiers ? (
        <ul className="models-tiers" data-testid="tier-report">
          {tierReport(tiers).map((t) => (
            <li key={t.title} className={t.ok ? 'tier-ok' : 'tier-no'}>
              <strong>{t.title}</strong> {t.text}
            </li>
          ))}
        </ul>
      ) : null}
      {tiersNote && <p className="muted">{tiersNote}</p>}
      <h3>Nodes</h3>
      <div className="table-wrap">
        <table data-testid="model-nodes">
          <thead>
            <tr>
              <th>#</th>
              <th>Node</th>
              <th>Operator</th>
              <th>Inputs</th>
              <th>Outputs</th>
              <th>Parameters</th>
            </tr>
          </thead>
          <tbody>
            {s.nodes.map((n, i) => (
              <tr key={n.name}>
                <td>{i}</td>
                <td>{n.name}</td>
                <td>{n.op}</td>
                <td className="mono">{n.inputs.join('; ')}</td>
                <td className="mono">{n.outputs.join('; ')}</td>
                <td>{groupDigits(n.params)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function MainPanel({ route }: ToolProps) {
  const [drag, setDrag] = useState(false);
  const [error, setError] = useState<string>();
  const id = route.segments[1];
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDrag(false);
    setError(undefined);
    keepFiles(e.dataTransfer.files).catch((err: Error) => setError(err.message));
  };
  return (
    <section
      className={`models-main${drag ? ' models-drag' : ''}`}
      aria-label="Model workspace"
      onDragOver={(e) => {
        e.preventDefault();
        setDrag(true);
      }}
      onDragLeave={() => setDrag(false)}
      onDrop={onDrop}
    >
      {error && <ErrorBox>{error}</ErrorBox>}
      {id ? (
        <Inspect key={id} id={id} />
      ) : (
        <div className="models-drop" data-testid="models-drop">
          Drop an .onnx file here, open one from the side panel, or pick an example.
        </div>
      )}
    </section>
  );
}

function ModelsIcon() {
  return (
    <svg
      viewBox="0 0 24 24"
      width="22"
      height="22"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
    >
      <circle cx="5" cy="6" r="2" />
      <circle cx="5" cy="18" r="2" />
      <circle cx="19" cy="12" r="2" />
      <circle cx="12" cy="12" r="2" />
      <path d="M7 6.8l3.2 4.2M7 17.2l3.2-4.2M14 12h3" />
    </svg>
  );
}

export const modelsTool: Tool = {
  id: ID,
  title: 'Models',
  icon: ModelsIcon,
  SidePanel,
  MainPanel,
};
