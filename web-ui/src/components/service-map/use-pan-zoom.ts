import { useEffect, useState, type RefObject } from 'react';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const MIN_SCALE = 0.03;
const MAX_SCALE = 4;
const READABLE_SCALE = 0.8;
/** Pixels a pointer may move before a press becomes a drag (and stops being a click). */
const DRAG_THRESHOLD = 4;

const clampScale = (k: number) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, k));

/**
 * Pan by dragging and zoom with the wheel (around the pointer), by writing the transform of the viewport group
 * directly: moving the map never re-renders React, which is what keeps it smooth with a thousand edges.
 */
export class PanZoom {
  private svg: SVGSVGElement | null = null;
  private viewport: SVGGElement | null = null;
  private drawing = { width: 0, height: 0 };
  private transform = { x: 0, y: 0, k: 1 };

  setDrawing(drawing: { width: number; height: number }): void {
    this.drawing = drawing;
  }

  /** Starts listening on the svg; returns what stops it. */
  attach(svg: SVGSVGElement, viewport: SVGGElement): () => void {
    this.svg = svg;
    this.viewport = viewport;
    this.apply();
    let press: { id: number; x: number; y: number; startX: number; startY: number; dragged: boolean } | null =
      null;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const rect = svg.getBoundingClientRect();
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      this.zoomAround(Math.exp(-delta * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
    };
    const onDown = (event: PointerEvent) => {
      if (event.button !== 0) return;
      const { x, y } = this.transform;
      press = { id: event.pointerId, x, y, startX: event.clientX, startY: event.clientY, dragged: false };
    };
    const onMove = (event: PointerEvent) => {
      if (!press || event.pointerId !== press.id) return;
      const dx = event.clientX - press.startX;
      const dy = event.clientY - press.startY;
      if (!press.dragged && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
      if (!press.dragged) {
        press.dragged = true;
        svg.setPointerCapture(event.pointerId);
        svg.classList.add('dragging');
      }
      this.transform = { ...this.transform, x: press.x + dx, y: press.y + dy };
      this.apply();
    };
    const onUp = (event: PointerEvent) => {
      if (!press || event.pointerId !== press.id) return;
      if (press.dragged) {
        svg.releasePointerCapture(event.pointerId);
        svg.classList.remove('dragging');
        // The click that ends a drag must not select what happens to be under the pointer.
        const swallow = (click: MouseEvent) => click.stopPropagation();
        svg.addEventListener('click', swallow, { capture: true, once: true });
        setTimeout(() => svg.removeEventListener('click', swallow, { capture: true }), 0);
      }
      press = null;
    };
    svg.addEventListener('wheel', onWheel, { passive: false });
    svg.addEventListener('pointerdown', onDown);
    svg.addEventListener('pointermove', onMove);
    svg.addEventListener('pointerup', onUp);
    svg.addEventListener('pointercancel', onUp);
    return () => {
      svg.removeEventListener('wheel', onWheel);
      svg.removeEventListener('pointerdown', onDown);
      svg.removeEventListener('pointermove', onMove);
      svg.removeEventListener('pointerup', onUp);
      svg.removeEventListener('pointercancel', onUp);
      this.svg = null;
      this.viewport = null;
    };
  }

  /** The whole drawing in view, never enlarged much past its natural size. */
  fit(): void {
    const svg = this.svg;
    if (!svg || this.drawing.width === 0) return;
    const { clientWidth: w, clientHeight: h } = svg;
    const k = clampScale(Math.min(w / this.drawing.width, h / this.drawing.height, 1.25));
    this.transform = { k, x: (w - this.drawing.width * k) / 2, y: (h - this.drawing.height * k) / 2 };
    this.apply();
  }

  zoomBy(factor: number): void {
    if (this.svg) this.zoomAround(factor, this.svg.clientWidth / 2, this.svg.clientHeight / 2);
  }

  /** Brings a box to the middle of the view, zooming in if the map is too small to read. */
  centreOn(box: Box): void {
    const svg = this.svg;
    if (!svg) return;
    const k = Math.max(this.transform.k, READABLE_SCALE);
    this.transform = {
      k,
      x: svg.clientWidth / 2 - (box.x + box.width / 2) * k,
      y: svg.clientHeight / 2 - (box.y + box.height / 2) * k,
    };
    this.apply();
  }

  isVisible(box: Box): boolean {
    const svg = this.svg;
    if (!svg) return false;
    const { x, y, k } = this.transform;
    const left = box.x * k + x;
    const top = box.y * k + y;
    return (
      left >= 0 &&
      top >= 0 &&
      left + box.width * k <= svg.clientWidth &&
      top + box.height * k <= svg.clientHeight
    );
  }

  private zoomAround(factor: number, px: number, py: number): void {
    const t = this.transform;
    const k = clampScale(t.k * factor);
    this.transform = { k, x: px - ((px - t.x) * k) / t.k, y: py - ((py - t.y) * k) / t.k };
    this.apply();
  }

  private apply(): void {
    const { x, y, k } = this.transform;
    this.viewport?.setAttribute(
      'transform',
      `translate(${x.toFixed(1)} ${y.toFixed(1)}) scale(${k.toFixed(4)})`,
    );
  }
}

/** One PanZoom for the component's lifetime, listening on the svg while it is mounted. */
export function usePanZoom(
  svg: RefObject<SVGSVGElement | null>,
  viewport: RefObject<SVGGElement | null>,
  drawing: { width: number; height: number },
): PanZoom {
  const [panZoom] = useState(() => new PanZoom());
  useEffect(() => {
    if (svg.current && viewport.current) return panZoom.attach(svg.current, viewport.current);
  }, [panZoom, svg, viewport]);
  useEffect(() => panZoom.setDrawing(drawing), [panZoom, drawing]);
  return panZoom;
}
